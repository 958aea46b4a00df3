"""Tracking API (Bearer key): report a click, attribute a signup, generate an affiliate link.
Thin adapters: Input serializer → one service → Output serializer."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from affiliates.selectors import get_affiliate_by_name_or_public_id
from config.errors import NotFound, ServiceError
from tracking import links, services
from tracking.services import claim_codes
from tracking.views import carry_coupon


def _opt(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, allow_null=True, **kwargs)


class ClickApi(APIView):
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=100)
        link = serializers.CharField(
            max_length=2000,
            help_text="The URL the visitor opened (on the site; a trailing /USERNAME is "
            "dropped), or a path.",
        )
        referrer = _opt(max_length=2000)
        user_agent = _opt(max_length=1000, help_text="The visitor's User-Agent (bots).")
        ip = _opt(max_length=64, help_text="The visitor's IP; hashed, never stored.")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(allow_null=True, help_text="Click id (or null).")
        affiliate = serializers.CharField(
            allow_null=True, help_text="Public id: the `referral` cookie value; null = no cookie."
        )
        honoured = serializers.BooleanField()
        reason = serializers.CharField(help_text="'' or ad_param / ad_referrer / bot.")
        redirect = serializers.CharField(help_text="The clean link to send the visitor to.")
        cookie = serializers.DictField(
            allow_null=True,
            help_text="The two cookies to set (name/value, click_name/click_value) and their "
            "attributes: max_age, domain, path, secure, httponly, samesite.",
        )

    @extend_schema(
        operation_id="clicks_create",
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
        summary="Report a click (a marketing site that redirects by itself)",
        description="Same rules as the redirect. 201 for an honoured click (set the "
        "`referral` and `referral_click` cookies as given); 200 with affiliate null for an "
        "ad or bot click (no cookie); 404 for an unknown or not approved username.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        now = timezone.now()
        raw_link = v["link"].strip()
        try:
            parts = urlsplit(
                raw_link if "://" in raw_link else settings.SITE_URL + "/" + raw_link.lstrip("/")
            )
        except ValueError:
            # urlsplit refuses some hosts outright ("http://[::1" → "Invalid IPv6 URL").
            raise ServiceError(
                "link is not a URL.", code="invalid", fields={"link": ["Not a valid URL."]}
            ) from None
        if not links.is_site_url(f"{parts.scheme}://{parts.netloc}/"):
            raise ServiceError(
                "link is not on the site.", code="off_site", fields={"link": ["Not on the site."]}
            )
        segments = [s for s in parts.path.split("/") if s]
        if segments and segments[-1].lower() == v["username"].strip().lower():
            segments = segments[:-1]
        safe = links.safe_segments(segments)
        path = links.landing_path(safe)
        params = parse_qsl(parts.query, keep_blank_values=True)
        outcome = services.record_click(
            username=v["username"],
            landing_path=path,
            params=params,
            referrer=v.get("referrer") or "",
            user_agent=v.get("user_agent") or "",
            ip=v.get("ip") or "",
            now=now,
        )
        if outcome.reason == "unavailable":
            raise ServiceError(
                "Clicks cannot be recorded right now; try again.", code="unavailable", status=503
            )
        if outcome.affiliate is None:
            raise NotFound("No approved affiliate with this username.")
        dest = links.destination(
            path=path,
            params=carry_coupon(params, outcome.affiliate, outcome.honoured),
            referrer=v.get("referrer") or "",
            honoured=outcome.affiliate if outcome.honoured else None,
            click_id=outcome.click_id,
            now=now,
            secure=links.secure_cookies(request),
        )
        cookie = None
        if dest.cookies:
            # The site sets both cookies itself, with the flags the redirect gives them.
            referral, click = dest.cookies
            cookie = {
                "name": referral.name,
                "value": referral.value,
                "click_name": click.name,
                "click_value": click.value,
                "max_age": referral.max_age,
                "domain": referral.domain,
                "path": referral.path,
                "secure": referral.secure,
                "httponly": referral.httponly,
                "samesite": referral.samesite,
            }
        body = {
            "id": outcome.click_id,
            "affiliate": outcome.affiliate.public_id if outcome.honoured else None,
            "honoured": outcome.honoured,
            "reason": outcome.reason,
            "redirect": dest.location,
            "cookie": cookie,
        }
        return Response(self.OutputSerializer(body).data, status=201 if outcome.honoured else 200)


class SignupAttributionSerializer(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=["coupon", "cookie", "referral_code", "declared", "employee"],
        allow_null=True,
        help_text="The evidence that credited the customer; null: nobody.",
    )
    reason = serializers.CharField(
        help_text='Why a referral_code did not credit ("referral_code expired", '
        '"referral_code unknown", "referral_code already used", a self-referral…), '
        '"not attributed", or empty.'
    )


class SignupApi(APIView):
    class InputSerializer(serializers.Serializer):
        customer_id = serializers.CharField(max_length=200)
        # 254: the longest address SMTP carries (RFC 5321 path limit) and Referral.email's
        # column; without the bound PostgreSQL refused the INSERT and the API answered 500.
        email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
        referral = _opt(max_length=64, help_text="The `referral` cookie's value.")
        referral_click = _opt(max_length=64, help_text="The `referral_click` cookie's value.")
        coupon = _opt(max_length=64)
        referred_by = _opt(max_length=100, help_text="Username typed in 'who referred you?'.")
        employee = _opt(max_length=100, help_text="Employee affiliate (username or public id).")
        stripe_customer_id = _opt(max_length=255)
        plan = _opt(max_length=80)
        referral_code = _opt(
            max_length=64,
            help_text="A claim code from GET /r/claim-code (the mobile app reads it from the "
            "clipboard at first launch): stands for the referral cookie; single-use, expires "
            "after CLAIM_CODE_DAYS.",
        )

    class OutputSerializer(serializers.Serializer):
        customer_id = serializers.CharField()
        affiliate = serializers.CharField(
            source="affiliate.public_id", allow_null=True, default=None
        )
        source = serializers.CharField()
        why = serializers.CharField()
        click_id = serializers.IntegerField(allow_null=True)
        employee = serializers.CharField(source="employee.public_id", allow_null=True, default=None)
        # Set by attribute_signup on every answer (a transient attribute, like `created`).
        attribution = SignupAttributionSerializer()

    @extend_schema(
        operation_id="signups_create",
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
        summary="Attribute a new customer (first referrer wins)",
        description="Precedence: coupon > cookie > referral_code > declared. 201 when the "
        "customer is new; "
        "200 with the same answer on a repeat call (which may add `employee` — named at "
        "upgrade — and `stripe_customer_id`).",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral = services.attribute_signup(**data.validated_data, now=timezone.now())
        return Response(
            self.OutputSerializer(referral).data, status=201 if referral.created else 200
        )


class ClaimSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    affiliate = serializers.CharField(source="affiliate.public_id", help_text="The claimant.")
    state = serializers.ChoiceField(choices=["pending", "accepted", "rejected"])
    source = serializers.CharField(help_text="coupon or declared.")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class AttributionApi(APIView):
    class InputSerializer(serializers.Serializer):
        customer_id = serializers.CharField(max_length=200)
        employee = _opt(max_length=100, help_text="Employee affiliate (public id or username).")
        coupon = _opt(max_length=64, help_text="A coupon declared after signup (late claim).")
        referred_by = _opt(
            max_length=100,
            help_text="'Who referred you?' after signup (late claim): username or public id.",
        )

        def validate(self, attrs: dict) -> dict:
            late = bool(attrs.get("coupon") or attrs.get("referred_by"))
            if bool(attrs.get("employee")) == late:
                raise serializers.ValidationError(
                    {
                        "employee": [
                            "Send employee, or a late claim (coupon / referred_by), one per call."
                        ]
                    }
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        customer_id = serializers.CharField()
        affiliate = serializers.CharField(
            source="affiliate.public_id", allow_null=True, default=None
        )
        source = serializers.CharField()
        employee = serializers.CharField(source="employee.public_id", allow_null=True, default=None)
        employee_at = serializers.DateTimeField(allow_null=True)

    class ClaimOutputSerializer(OutputSerializer):
        outcome = serializers.ChoiceField(
            choices=["attributed", "claimed", "unchanged"],
            help_text="attributed: the customer had nobody and is now the affiliate's; "
            "claimed: another affiliate has it, the claim waits for an admin; unchanged.",
        )
        claim = ClaimSerializer(allow_null=True)
        # (outcome and claim are in the answer to a late claim only.)

    @extend_schema(
        operation_id="attributions_create",
        request=InputSerializer,
        responses={201: ClaimOutputSerializer, 200: ClaimOutputSerializer},
        summary="Name the employee who helped a customer, or a late referral claim",
        description="**employee**: 201 when the employee is named; 200 when the same "
        "employee was already named; 409 `employee_already_named` for another employee; 400 "
        "for an unknown employee or the employee's own account. The employee earns by its "
        "plan from now on, alongside the customer's affiliate: both are paid. "
        "**coupon / referred_by** (a late claim, coupon first when both are sent): a customer "
        "nobody has is attributed at once by a signup's rules (201, outcome `attributed`); "
        "one another affiliate has keeps it and a claim waits for an admin's decision (201, "
        "outcome `claimed`, claim.state `pending`); the same affiliate, or a repeated claim, "
        "changes nothing (200, outcome `unchanged`). 400 `invalid_claim` with the field for an "
        "unknown or inactive coupon, an unknown or not approved affiliate, or a "
        "self-referral. 404 for an unknown customer, either way.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        now = timezone.now()
        if v.get("employee"):
            referral, changed = services.name_employee(
                customer_id=v["customer_id"], employee=v["employee"], now=now
            )
            return Response(self.OutputSerializer(referral).data, status=201 if changed else 200)
        result = services.claim_customer(
            customer_id=v["customer_id"],
            coupon=v.get("coupon"),
            referred_by=v.get("referred_by"),
            now=now,
        )
        body = {
            **self.OutputSerializer(result.referral).data,
            "outcome": result.outcome,
            "claim": ClaimSerializer(result.claim).data if result.claim else None,
        }
        return Response(body, status=201 if result.created else 200)


class LinkApi(APIView):
    class InputSerializer(serializers.Serializer):
        affiliate = serializers.CharField(max_length=100, help_text="Public id or username.")
        url = serializers.CharField(max_length=2000)
        text = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        url = serializers.CharField()
        ref_url = serializers.CharField()
        redirect_url = serializers.CharField()
        html = serializers.CharField()

    @extend_schema(
        operation_id="links_create",
        request=InputSerializer,
        responses={200: OutputSerializer},
        summary="An affiliate's link to any page of the site, with an HTML snippet",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        affiliate = get_affiliate_by_name_or_public_id(v["affiliate"])
        if affiliate is None:
            raise NotFound("No affiliate with this public id or username.")
        link = links.build_affiliate_link(affiliate=affiliate, url=v["url"], text=v["text"])
        return Response(self.OutputSerializer(link).data)


def allowed_origin(origin: str) -> str | None:
    """The request's Origin when it is the marketing site (https on a SITE_HOSTS host, or
    http too on a DEBUG server), else None. Exact: never a wildcard, which browsers refuse
    with credentials anyway."""
    if not origin:
        return None
    try:
        parts = urlsplit(origin)
        host = parts.hostname
    except ValueError:
        return None
    schemes = ("https", "http") if settings.DEBUG else ("https",)
    if parts.scheme not in schemes or host not in settings.SITE_HOSTS:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return origin


# Not a Bearer-key API: the visitor's browser calls it from the marketing site, credentials
# included, and only the visitor's own cookie is read. (No view docstring: drf-spectacular
# would publish it.)
class ClaimCodeApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField(help_text="8 characters, A-Z and 2-9 without look-alikes.")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="claim_code_retrieve",
        auth=[],
        responses={200: OutputSerializer},
        summary="A claim code for the visitor's referral cookie (mobile app installs)",
        description="Called by the marketing site's store buttons with `credentials: "
        "'include'`; CORS for SITE_HOSTS origins only. Answers a short single-use code "
        "standing for the visitor's referral cookie (never the cookie itself), to copy to "
        "the clipboard; the app passes it as `referral_code` to POST /api/v1/signups. 404 "
        "`no_referral` when the visitor has no valid referral cookie. See "
        "docs/mobile-installs.md.",
    )
    def get(self, request: Request) -> HttpResponse:
        claim = claim_codes.issue_claim_code(
            referral=request.COOKIES.get(links.COOKIE_NAME),
            referral_click=request.COOKIES.get(links.CLICK_COOKIE_NAME),
            now=timezone.now(),
        )
        if claim is None:
            reason = (
                "The visitor's referral cookie names no approved affiliate."
                if request.COOKIES.get(links.COOKIE_NAME)
                else "The visitor has no referral cookie."
            )
            return JsonResponse(
                {"error": {"code": "no_referral", "message": reason, "fields": {}}}, status=404
            )
        return JsonResponse(self.OutputSerializer(claim).data)

    def options(self, request: Request, *args: object, **kwargs: object) -> HttpResponse:
        # The CORS preflight (a browser sends one only for non-simple requests, but answer it
        # for any client that asks).
        response = HttpResponse(status=204)
        if allowed_origin(request.headers.get("Origin", "")):
            response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
            requested = request.headers.get("Access-Control-Request-Headers", "")
            if requested:
                response["Access-Control-Allow-Headers"] = requested[:500]
            response["Access-Control-Max-Age"] = "600"
        return response

    def finalize_response(
        self, request: HttpRequest, response: HttpResponse, *args: object, **kwargs: object
    ) -> HttpResponse:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Every answer (code, 404, preflight, an error) is one visitor's: never stored.
        response["Cache-Control"] = "no-store"
        response["Vary"] = "Origin, Cookie"
        origin = allowed_origin(request.headers.get("Origin", ""))
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Credentials"] = "true"
        return response
