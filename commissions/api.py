"""Commissions API (Bearer key): payments and refunds from billing systems other than
Stripe, the ledger entries of an affiliate, and the affiliate detail with its balances (the
route /api/v1/affiliates/<public_id> is served here: it needs both apps, and affiliates
never imports commissions). Amounts are integer minor units, 1 … 10^12;
dates from 2000-01-01 to one day from now (commissions.services.bounds)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from affiliates.api import AffiliateOutputSerializer
from affiliates.models import Affiliate
from affiliates.selectors import get_affiliate_by_public_id
from commissions import selectors
from commissions.ingest import submit_api_event
from commissions.models import CommissionEntry, Payment, Refund
from commissions.services import (
    EARLIEST_MOMENT,
    FUTURE_SLACK,
    FX_DECIMAL_PLACES,
    MAX_AMOUNT,
    MAX_FX_RATE,
    MIN_AMOUNT,
    SUPPORTED_CURRENCIES,
)
from config.errors import NotFound, ServiceError


class MinorUnitsField(serializers.IntegerField):
    """Integer minor units, strictly: a JSON number without a fraction. "40.00", 40.0 and
    true are refused, so a caller sending dollars by mistake gets a 400, not a wrong sum."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def _minor_units(help_text: str) -> MinorUnitsField:
    return MinorUnitsField(
        min_value=MIN_AMOUNT, max_value=MAX_AMOUNT, help_text=f"{help_text} {MIN_AMOUNT} … 10^12."
    )


class BoundedMomentField(serializers.DateTimeField):
    """An instant from 2000-01-01 to one day from now (a billing system's clock may run a
    little ahead; anything further is a typo that would mis-date commissions)."""

    def to_internal_value(self, value: object):  # type: ignore[no-untyped-def]
        moment = super().to_internal_value(value)
        if not EARLIEST_MOMENT <= moment <= timezone.now() + FUTURE_SLACK:
            raise serializers.ValidationError(
                f"Must be between {EARLIEST_MOMENT:%Y-%m-%d} and one day from now."
            )
        return moment


class ExchangeRateField(serializers.DecimalField):
    """A decimal string, program-currency units per unit of the payment's currency: a
    string so that no float rounding creeps in ("0.92", not 0.92)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            max_digits=7 + FX_DECIMAL_PLACES,
            decimal_places=FX_DECIMAL_PLACES,
            min_value=Decimal(1).scaleb(-FX_DECIMAL_PLACES),
            max_value=MAX_FX_RATE,
            **kwargs,  # type: ignore[arg-type]
        )

    def to_internal_value(self, data: object) -> Decimal:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _EntrySummary(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    affiliate = serializers.CharField(source="affiliate.public_id")


class PaymentApi(APIView):
    class InputSerializer(serializers.Serializer):
        payment_id = serializers.CharField(max_length=200)
        customer_id = serializers.CharField(max_length=200)
        amount = _minor_units("Minor units, net of tax:")
        currency = serializers.ChoiceField(choices=SUPPORTED_CURRENCIES)
        paid_at = BoundedMomentField(help_text="From 2000-01-01 to one day from now.")
        plan = serializers.CharField(max_length=120, required=False, allow_blank=True)
        exchange_rate = ExchangeRateField(
            required=False,
            help_text=(
                "Optional: program-currency units per unit of `currency`, as a decimal "
                'string ("1.0825"), positive, at most 1000000 and 10 decimal places. Without '
                "it, the rate admin entered for `paid_at` is used; with neither, the payment "
                "is stored and waits (202 `waiting_for_rate`) until a rate is entered."
            ),
        )

        def validate(self, attrs: dict) -> dict:
            rate = attrs.get("exchange_rate")
            if rate is not None and attrs["currency"] == settings.PROGRAM_CURRENCY and rate != 1:
                raise serializers.ValidationError(
                    {"exchange_rate": ["Must be 1 (or left out) for the program currency."]}
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        payment_id = serializers.CharField()
        customer_id = serializers.CharField()
        amount = serializers.IntegerField()
        currency = serializers.CharField()
        paid_at = serializers.CharField()
        plan = serializers.CharField()
        exchange_rate = serializers.CharField(allow_null=True)
        status = serializers.ChoiceField(
            choices=["recorded", "waiting_for_rate", "skipped"],
            help_text=(
                "waiting_for_rate: stored, commissions computed as soon as an exchange "
                "rate is entered (see `reason`)."
            ),
        )
        reason = serializers.CharField()
        commissions = _EntrySummary(many=True)

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 202: OutputSerializer, 200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        data = {
            "payment_id": v["payment_id"],
            "customer_id": v["customer_id"],
            "amount": v["amount"],
            "currency": v["currency"],
            "paid_at": v["paid_at"].astimezone(UTC).isoformat(),
            "plan": v.get("plan", ""),
        }
        if v.get("exchange_rate") is not None:
            # Stored as given (normalized), so a repeat with the same rate is the same call.
            data["exchange_rate"] = format(v["exchange_rate"].normalize(), "f")
        _, created = submit_api_event(
            kind="payment",
            external_id=v["payment_id"],
            data=data,
            created=v["paid_at"],
            now=timezone.now(),
        )
        payment = Payment.objects.filter(provider="api", external_id=v["payment_id"]).first()
        entries = (
            CommissionEntry.objects.filter(payment=payment, source_type="payment")
            .select_related("affiliate")
            .order_by("pk")
            if payment
            else []
        )
        waiting = payment is not None and payment.status == Payment.Status.WAITING_FOR_RATE
        status = "skipped" if payment is None else "waiting_for_rate" if waiting else "recorded"
        body = {
            "exchange_rate": None,
            **data,
            "status": status,
            "reason": payment.status_reason if waiting else "",
            "commissions": entries,
        }
        # 202: accepted and stored, its commissions still to come.
        code = 200 if not created else 202 if waiting else 201
        return Response(self.OutputSerializer(body).data, status=code)


class RefundApi(APIView):
    class InputSerializer(serializers.Serializer):
        refund_id = serializers.CharField(max_length=200)
        payment_id = serializers.CharField(max_length=200)
        amount = _minor_units("Minor units refunded, at most what is left of the payment:")
        refunded_at = BoundedMomentField(help_text="Not before the payment; up to a day ahead.")

    class OutputSerializer(serializers.Serializer):
        refund_id = serializers.CharField()
        payment_id = serializers.CharField()
        amount = serializers.IntegerField()
        refunded_at = serializers.CharField()
        status = serializers.ChoiceField(
            choices=["applied", "waiting_for_payment", "waiting_for_rate"],
            help_text=(
                "waiting_for_payment: booked when the payment arrives; waiting_for_rate: "
                "booked when the payment (waiting for an exchange rate) is computed."
            ),
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
        description=(
            "409 `refund_exceeds_payment` when the amount is more than is left of the "
            "payment; 400 `refund_before_payment` when `refunded_at` predates it."
        ),
    )
    def post(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        data = {
            "refund_id": v["refund_id"],
            "payment_id": v["payment_id"],
            "amount": v["amount"],
            "refunded_at": v["refunded_at"].astimezone(UTC).isoformat(),
        }
        _, created = submit_api_event(
            kind="refund",
            external_id=v["refund_id"],
            data=data,
            created=v["refunded_at"],
            now=timezone.now(),
        )
        refund = Refund.objects.filter(provider="api", external_id=v["refund_id"]).first()
        if refund is None:
            raise ServiceError("Refund could not be recorded.")
        if refund.applied_at:
            status = "applied"
        elif refund.payment_id is None:
            status = "waiting_for_payment"
        else:
            status = "waiting_for_rate"
        return Response(
            self.OutputSerializer({**data, "status": status}).data, status=201 if created else 200
        )


class CommissionListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = CommissionEntry
            fields = [
                "id",
                "kind",
                "amount",
                "currency",
                "state",
                "source_id",
                "created_at",
                "approve_after",
            ]

    serializer_class = OutputSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("affiliate", str, required=True, description="Affiliate public id."),
            OpenApiParameter("state", str, enum=CommissionEntry.State.values),
            OpenApiParameter("kind", str, enum=CommissionEntry.Kind.values),
        ]
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        public_id = params.get("affiliate")
        if not public_id:
            raise ServiceError(
                "affiliate is required.", fields={"affiliate": ["This parameter is required."]}
            )
        state, kind = params.get("state") or None, params.get("kind") or None
        if state and state not in CommissionEntry.State.values:
            raise ServiceError("Unknown state.", fields={"state": ["Unknown state."]})
        if kind and kind not in CommissionEntry.Kind.values:
            raise ServiceError("Unknown kind.", fields={"kind": ["Unknown kind."]})
        affiliate_id = (
            Affiliate.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
        )
        if affiliate_id is None:
            raise NotFound("No such affiliate.")
        return selectors.list_entries(affiliate_id=affiliate_id, state=state, kind=kind)


class _BalanceSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    approved = serializers.IntegerField()
    in_payout = serializers.IntegerField()
    paid = serializers.IntegerField()


# The affiliate as the list shows it (affiliates.api), plus its ledger balances. (No view
# docstring: drf-spectacular would publish it as the operation's description.)
class AffiliateDetailApi(APIView):
    class OutputSerializer(AffiliateOutputSerializer):
        balances = serializers.SerializerMethodField(
            help_text="Per currency: {pending, approved, in_payout, paid} in minor units; "
            "approved may be negative after clawbacks (carried forward)."
        )

        @extend_schema_field(serializers.DictField(child=_BalanceSerializer()))
        def get_balances(self, affiliate: Affiliate) -> dict[str, dict[str, int]]:
            return selectors.balances_for(affiliate_id=affiliate.pk)

    @extend_schema(
        operation_id="affiliates_retrieve",
        responses={200: OutputSerializer},
        summary="One affiliate by its public id",
    )
    def get(self, request: Request, public_id: str) -> Response:
        affiliate = get_affiliate_by_public_id(public_id)
        if affiliate is None:
            raise NotFound("No affiliate with this public id.")
        return Response(self.OutputSerializer(affiliate).data)
