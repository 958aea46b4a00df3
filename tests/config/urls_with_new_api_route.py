"""The project's URLconf plus one API route that nobody gave a session read permission."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_patterns


class NewThingApi(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("api/v1/newthing", NewThingApi.as_view(), name="api-newthing")]
urlpatterns += project_patterns
