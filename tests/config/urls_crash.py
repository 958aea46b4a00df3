"""The project's URLconf plus views that crash, to see what a 500 looks like to a client."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("secret internals: postgres://admin:pw@db.internal/prod")


def html_page_crash(request):
    raise RuntimeError("boom")


def html_ok(request):
    return HttpResponse("<p>ok</p>")


urlpatterns = [
    path("api/v1/_crash", crash),
    path("webhooks/_crash/", crash),
    path("_crash/", html_page_crash),
    *project_urlpatterns,
]
