"""config.urls plus one new route: its first segment must become reserved by itself."""

from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("newthing/", lambda request: HttpResponse("new"), name="newthing"),
    path("", include("config.urls")),
]
