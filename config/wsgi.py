"""WSGI entry point (gunicorn config.wsgi:application, runserver via WSGI_APPLICATION).

The Django application with the tracked redirect's fast lane in front of it: the redirect
paths are answered before the middleware and the URL resolver (tracking.fastlane says which
and why), everything else is Django's as ever.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()  # django.setup(): the apps can be imported now

from tracking.fastlane import FastLane  # noqa: E402

application = FastLane(django_application)
