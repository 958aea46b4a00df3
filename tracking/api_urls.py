from django.urls import path

from tracking import api

urlpatterns = [
    path("clicks", api.ClickApi.as_view(), name="api-clicks"),
    path("signups", api.SignupApi.as_view(), name="api-signups"),
    path("attributions", api.AttributionApi.as_view(), name="api-attributions"),
    path("links", api.LinkApi.as_view(), name="api-links"),
]
