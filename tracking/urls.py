"""Included LAST at the root (config/urls.py): these patterns catch what nothing else served.
(The /r/ redirect has its own prefix and is routed first, in config/urls.py.)"""

from django.urls import path

from tracking import views

urlpatterns = [
    path("<str:username>", views.short_link, name="short-link"),
    path("<str:username>/", views.short_link, name="short-link-slash"),
]
