"""Root URLconf. Every app owns its `urls.py` (pages, webhooks) and `api_urls.py` (/api/v1/).

The tracking app's catch-all `/<username>` must stay last; every other first path segment
served here is reserved as a username automatically (affiliates.usernames).
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health

api_v1 = [
    path("", include("affiliates.api_urls")),
    path("", include("tracking.api_urls")),
    path("", include("commissions.api_urls")),
    path("", include("payouts.api_urls")),
]

urlpatterns = [
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    path("", include("affiliates.urls")),
    path("", include("commissions.urls")),
    path("", include("payouts.urls")),
    path("", include("dashboard.urls")),
    # Last: /r/<path>/<username> and the root short link /<username>.
    path("", include("tracking.urls")),
]
