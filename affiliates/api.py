"""Read the program's affiliates from outside (admin API key). Thin adapters: parse with an
Input serializer, call a selector, render with an Output serializer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from affiliates.models import Affiliate
from affiliates.selectors import get_affiliate_by_public_id, list_affiliates
from config.errors import NotFound
from config.pagination import Pagination


class AffiliateOutputSerializer(serializers.Serializer):
    public_id = serializers.CharField()
    username = serializers.CharField()
    status = serializers.ChoiceField(choices=Affiliate.Status.choices)
    plan = serializers.CharField(source="plan.name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class _BalanceSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    approved = serializers.IntegerField()
    in_payout = serializers.IntegerField()
    paid = serializers.IntegerField()


class AffiliateDetailApi(APIView):
    class OutputSerializer(AffiliateOutputSerializer):
        balances = serializers.SerializerMethodField(
            help_text="Per currency: {pending, approved, in_payout, paid} in minor units; "
            "approved may be negative after clawbacks (carried forward)."
        )

        @extend_schema_field(serializers.DictField(child=_BalanceSerializer()))
        def get_balances(self, affiliate: Affiliate) -> dict[str, dict[str, int]]:
            # The one read that crosses the app graph the other way: an adapter composing
            # the ledger's selector (imported here, so affiliates' modules never load it).
            from commissions.selectors import balances_for

            return balances_for(affiliate_id=affiliate.pk)

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


class AffiliateListApi(APIView):
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Affiliate.Status.choices, required=False)
        q = serializers.CharField(required=False, max_length=254)

    class OutputSerializer(AffiliateOutputSerializer):
        pass

    @extend_schema(
        operation_id="affiliates_list",
        parameters=[
            OpenApiParameter("status", str, enum=Affiliate.Status.values),
            OpenApiParameter(
                "q",
                str,
                description="Username (current or earlier), e-mail or "
                "public id; a substring of the username or e-mail matches.",
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: OutputSerializer(many=True)},
        summary="Affiliates, newest first, paginated",
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = list_affiliates(**params.validated_data)
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
