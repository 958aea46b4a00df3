"""Included LAST at the root (config/urls.py): these patterns catch what nothing else served."""

from django.urls import path, re_path

from tracking import views

urlpatterns = [
    # [\s\S]: unlike <path:…>, also matches control characters (they must redirect home, not 404).
    re_path(r"^r/(?P<path>[\s\S]+)\Z", views.tracked_redirect, name="tracked-redirect"),
    path("<str:username>", views.short_link, name="short-link"),
    path("<str:username>/", views.short_link, name="short-link-slash"),
]
