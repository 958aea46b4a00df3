"""Commissions API (Bearer key): payments and refunds from billing systems other than
Stripe, and the ledger entries of an affiliate. Amounts are integer minor units."""

from __future__ import annotations

from datetime import UTC

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from affiliates.models import Affiliate
from commissions import selectors
from commissions.events import submit_api_event
from commissions.models import CommissionEntry, Payment, Refund
from commissions.services import SUPPORTED_CURRENCIES
from config.errors import NotFound, ServiceError


class MinorUnitsField(serializers.IntegerField):
    """Integer minor units, strictly: a JSON number without a fraction. "40.00", 40.0 and
    true are refused, so a caller sending dollars by mistake gets a 400, not a wrong sum."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
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
        amount = MinorUnitsField(min_value=0, help_text="Minor units, net of tax.")
        currency = serializers.ChoiceField(choices=SUPPORTED_CURRENCIES)
        paid_at = serializers.DateTimeField()
        plan = serializers.CharField(max_length=120, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        payment_id = serializers.CharField()
        customer_id = serializers.CharField()
        amount = serializers.IntegerField()
        currency = serializers.CharField()
        paid_at = serializers.CharField()
        plan = serializers.CharField()
        status = serializers.ChoiceField(choices=["recorded", "skipped"])
        commissions = _EntrySummary(many=True)

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
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
        body = {**data, "status": "recorded" if payment else "skipped", "commissions": entries}
        return Response(self.OutputSerializer(body).data, status=201 if created else 200)


class RefundApi(APIView):
    class InputSerializer(serializers.Serializer):
        refund_id = serializers.CharField(max_length=200)
        payment_id = serializers.CharField(max_length=200)
        amount = MinorUnitsField(min_value=1, help_text="Minor units refunded.")
        refunded_at = serializers.DateTimeField()

    class OutputSerializer(serializers.Serializer):
        refund_id = serializers.CharField()
        payment_id = serializers.CharField()
        amount = serializers.IntegerField()
        refunded_at = serializers.CharField()
        status = serializers.ChoiceField(
            choices=["applied", "waiting_for_payment"],
            help_text="waiting_for_payment: booked when the payment arrives.",
        )

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
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
        status = "applied" if refund.applied_at else "waiting_for_payment"
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
