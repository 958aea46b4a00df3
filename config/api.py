"""API plumbing shared by every app: Bearer API-key auth, the default permission, and the
one error shape `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ServiceError


class ApiClient:
    """The `request.user` of a call authenticated by an API key (a server, not a person)."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False

    def __init__(self, key: Any) -> None:
        self.key = key
        self.pk = None
        self.username = f"api-key:{key.name}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`; keys are stored hashed (see affiliates.ApiKey)."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, Any] | None:
        from affiliates.selectors import get_api_key_by_raw

        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword:
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        key = get_api_key_by_raw(raw=auth[1].decode("latin-1"))
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        # Imported here, like the selector: DRF loads this module before the app registry.
        from django.utils import timezone

        from affiliates.services import touch_api_key

        touch_api_key(key=key, now=timezone.now())
        return ApiClient(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py create_api_key`.",
        }


# What a logged-in staff user (a person trying the API in a browser) may read, by URL name:
# Django model permissions of the roles `affiliates.roles.sync_roles` creates. Writes never
# go through a session: the product's backend and billing systems use an API key, and a
# session write is what a forged or mistaken browser request looks like (Support once
# created a $1,000 payment this way). A route missing from this table refuses sessions
# altogether (fail closed): a new route is readable by staff only once someone decides
# which permission it needs.
SESSION_READ_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "api-affiliates": ("affiliates.view_affiliate",),
    # The detail carries the ledger balances.
    "api-affiliate": ("affiliates.view_affiliate", "commissions.view_commissionentry"),
    "api-commissions": ("commissions.view_commissionentry",),
    # The payout list shows the method, never the destination (payouts.PayoutAccount).
    "api-payouts": ("payouts.view_payout",),
    # The upgrade picker's list: affiliates' public ids and names, as api-affiliates.
    "api-employees": ("affiliates.view_affiliate",),
}

# Routes whose GET anyone may read, with no key and no session (their view says so with its
# own permission class): what the marketing site shows its visitors.
PUBLIC_READ_ROUTES = frozenset({"api-testimonials"})


class IsApiClient(permissions.BasePermission):
    """Every route: an API key, any method. A staff session: reads only (GET, HEAD, OPTIONS),
    and only routes of SESSION_READ_PERMISSIONS whose permissions the user holds; superusers
    included — they write with a key like everyone else."""

    message = "You do not have permission to do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, ApiClient):
            return True
        user = request.user
        if not (user and getattr(user, "is_staff", False) and user.is_active):
            return False
        if request.method not in permissions.SAFE_METHODS:
            self.message = "Writes need an API key (Authorization: Bearer …); a session only reads."
            return False
        match = getattr(request, "resolver_match", None)
        needed = SESSION_READ_PERMISSIONS.get(match.url_name if match else "")
        if needed is None:
            self.message = "This route is open to API keys only."
            return False
        if not user.has_perms(needed):
            self.message = "Your role may not read this."
            return False
        return True


def _error(
    code: str, message: str, fields: dict | None, status: int, headers: dict | None = None
) -> Response:
    response = Response(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        out: list = []
        for item in detail:
            flat = _flatten(item)
            out.extend(flat if isinstance(flat, list) else [flat])
        return out
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ServiceError):
        return _error(exc.code, exc.message, exc.fields, exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        return _error("invalid", "; ".join(exc.messages), fields, 400)
    if isinstance(exc, Http404):
        return _error("not_found", "Not found.", None, 404)
    if isinstance(exc, PermissionDenied):
        return _error("permission_denied", "You do not have permission to do this.", None, 403)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = _flatten(detail)
            non_field = fields.pop("non_field_errors", None)
            message = "; ".join(non_field) if non_field else "Invalid input."
            if non_field:
                fields["non_field_errors"] = non_field
            return _error("invalid", message, fields, 400)
        return _error("invalid", "; ".join(_flatten(detail)) or "Invalid input.", None, 400)
    if isinstance(exc, exceptions.ParseError):
        # DRF's parse messages quote the decoder ("JSON parse error - Expecting value: line 1
        # column 1 (char 0)"): internal text the client cannot act on. One message for all.
        return _error("parse_error", "The request body is not valid JSON or form data.", None, 400)
    if isinstance(exc, exceptions.APIException):
        # Imported here: rest_framework.views imports this module's auth classes at start-up.
        from rest_framework.views import exception_handler as drf_exception_handler

        response = drf_exception_handler(exc, context)
        headers = {}
        if response is not None and "WWW-Authenticate" in response:
            headers["WWW-Authenticate"] = response["WWW-Authenticate"]
        status = response.status_code if response is not None else exc.status_code
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        return _error(str(code), str(exc.detail), None, status, headers)
    return None
