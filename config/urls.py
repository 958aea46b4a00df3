"""Root URLconf. Every app owns its `urls.py` (pages, webhooks) and `api_urls.py` (/api/v1/).

The tracking app's catch-all `/<username>` must stay last; every other first path segment
served here is reserved as a username automatically (affiliates.usernames).
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from tracking import views as tracking_views
from tracking.api import ClaimCodeApi

api_v1 = [
    path("", include("affiliates.api_urls")),
    path("", include("tracking.api_urls")),
    path("", include("commissions.api_urls")),
    path("", include("payouts.api_urls")),
]

urlpatterns = [
    # First, because it is the hot path and Django tries patterns in order (routed last it
    # paid ~0.2 ms walking every include). [\s\S]: unlike <path:…>, it also matches control
    # characters, which must redirect home rather than 404.
    # Mobile app installs: the claim code for the visitor's referral cookie. Before the
    # redirect, which would take "claim-code" for a username (reserved: it can never be one).
    path("r/claim-code", ClaimCodeApi.as_view(), name="claim-code"),
    re_path(r"^r/(?P<path>[\s\S]+)\Z", tracking_views.tracked_redirect, name="tracked-redirect"),
    # Browsers ask for /favicon.ico on every page; one small fixed file (no path from the
    # request reaches serve()), cached for a day.
    path(
        "favicon.ico",
        cache_control(public=True, max_age=86400)(serve),
        {"path": "favicon.ico", "document_root": settings.BASE_DIR / "static"},
        name="favicon",
    ),
    path("", include("tracking.creative_urls")),  # /media/<creative file>
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    # Staff-only previews of every registered e-mail (emails.admin_views), in any language.
    path("admin/emails/", include("emails.admin_urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    # set_language: the language switcher posts here (dashboard pages, e-mails follow it).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("affiliates.urls")),
    path("", include("commissions.urls")),
    path("", include("payouts.urls")),
    path("", include("dashboard.urls")),
    path("", include("emails.urls")),
    # Last: the root short link /<username>.
    path("", include("tracking.urls")),
]
