"""/api/v1/testimonials: a public, cacheable GET for the marketing site (CORS for
SITE_HOSTS) and an admin-key POST to import existing testimonials."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from affiliates.models import TESTIMONIAL_MAX_LENGTH
from affiliates.selectors import get_affiliate_by_name_or_public_id
from affiliates.testimonials import (
    import_testimonial,
    list_public_testimonials,
    render_testimonial,
)
from config.api import IsApiClient
from config.errors import ServiceError

# The widget may show the list five minutes late; an approval reaches the site within that.
MAX_AGE = 300


def allowed_origin(origin: str) -> str | None:
    """The Origin to echo back when it is one of our own sites, else None."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.hostname not in settings.SITE_HOSTS:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return origin


class PublicGetOrApiKey(IsApiClient):
    """Reads are public (the marketing site's visitors; listed in PUBLIC_READ_ROUTES);
    writes as every other route. A wrong Authorization header is still refused (401), as
    everywhere: the widget never sends one."""

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)


class TestimonialListApi(APIView):
    permission_classes = [PublicGetOrApiKey]

    class InputSerializer(serializers.Serializer):
        affiliate = serializers.CharField(
            max_length=64, help_text="The affiliate's public id or username."
        )
        text = serializers.CharField(max_length=TESTIMONIAL_MAX_LENGTH, help_text="Markdown.")
        website = serializers.CharField(
            max_length=200, required=False, allow_blank=True, default=""
        )
        approved = serializers.BooleanField(required=False, default=False)

    class OutputSerializer(serializers.Serializer):
        affiliate = serializers.CharField(help_text="The affiliate's display name.")
        website = serializers.CharField()
        html = serializers.CharField(help_text="Sanitized HTML: p, em, strong, a only.")
        approved_at = serializers.DateTimeField()

    class ListOutputSerializer(serializers.Serializer):
        results = serializers.ListField(child=serializers.DictField())

    class ImportOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        affiliate = serializers.CharField(source="affiliate.public_id")
        approved = serializers.BooleanField()
        created = serializers.BooleanField()

    @extend_schema(
        operation_id="testimonials_list",
        auth=[],
        responses={200: ListOutputSerializer},
        summary="Approved testimonials, sanitized HTML (public, cacheable, CORS for SITE_HOSTS)",
    )
    def get(self, request: Request) -> HttpResponseBase:
        items = [
            {
                # Username as the display name: it is public already (every referral link).
                "affiliate": t.affiliate.username,
                "website": t.website,
                "html": render_testimonial(t.text),
                "approved_at": t.approved_at,
            }
            for t in list_public_testimonials()
        ]
        data = self.OutputSerializer(items, many=True).data
        body = json.dumps({"results": data}, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = f"public, max-age={MAX_AGE}"
        return self._cors(request, response)

    @staticmethod
    def _cors(request: Request, response: HttpResponseBase) -> HttpResponseBase:
        patch_vary_headers(response, ("Origin",))
        origin = allowed_origin(request.headers.get("Origin", ""))
        if origin:
            response["Access-Control-Allow-Origin"] = origin
        return response

    @extend_schema(
        operation_id="testimonials_import",
        request=InputSerializer,
        responses={201: ImportOutputSerializer, 200: ImportOutputSerializer},
        summary="Import a testimonial (admin key); replaces the affiliate's current one",
    )
    def post(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        affiliate = get_affiliate_by_name_or_public_id(data["affiliate"])
        if affiliate is None:
            raise ServiceError(
                "Unknown affiliate.", code="unknown_affiliate", fields={"affiliate": ["Unknown."]}
            )
        testimonial, created = import_testimonial(
            affiliate=affiliate,
            text=data["text"],
            website=data["website"],
            approved=data["approved"],
            now=timezone.now(),
        )
        out = {
            "id": testimonial.pk,
            "affiliate": testimonial.affiliate,
            "approved": testimonial.approved,
            "created": created,
        }
        return Response(self.ImportOutputSerializer(out).data, status=201 if created else 200)
