"""/media/<name>: the creatives' image files (settings.MEDIA_URL; tracking.creative_views)."""

from django.urls import path

from tracking import creative_views

urlpatterns = [
    path("media/<path:name>", creative_views.creative_file, name="creative-file"),
]
