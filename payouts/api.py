"""`GET /api/v1/payouts?affiliate=<public_id>&state=` (admin API key): amounts in minor units."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.pagination import Pagination
from payouts.models import Payout, PayoutAccount
from payouts.selectors import payouts_for_api


class PayoutListApi(APIView):
    class InputSerializer(serializers.Serializer):
        affiliate = serializers.CharField(required=False, max_length=16)
        state = serializers.ChoiceField(choices=Payout.State.choices, required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        affiliate = serializers.CharField(source="affiliate.public_id")
        amount = serializers.IntegerField(help_text="Minor units.")
        currency = serializers.CharField()
        method = serializers.ChoiceField(choices=PayoutAccount.Method.choices)
        state = serializers.ChoiceField(choices=Payout.State.choices)
        created_at = serializers.DateTimeField()
        paid_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(
        operation_id="payouts_list",
        parameters=[
            OpenApiParameter("affiliate", str, description="The affiliate's public id."),
            OpenApiParameter("state", str, enum=Payout.State.values),
        ],
        responses={200: OutputSerializer(many=True)},
        summary="Payouts, newest first",
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        qs = payouts_for_api(
            affiliate_public_id=params.validated_data.get("affiliate"),
            state=params.validated_data.get("state"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
