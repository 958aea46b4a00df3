"""Read the program's affiliates from outside (admin API key). Thin adapters: parse with an
Input serializer, call a selector, render with an Output serializer.

The detail route (/api/v1/affiliates/<public_id>) carries the ledger balances, so it is
served by commissions.api, which may read both apps (affiliates never imports commissions);
it renders AffiliateOutputSerializer below plus the balances."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from affiliates.models import Affiliate
from affiliates.selectors import list_affiliates, list_employees
from config.pagination import Pagination


class AffiliateOutputSerializer(serializers.Serializer):
    public_id = serializers.CharField()
    username = serializers.CharField()
    status = serializers.ChoiceField(choices=Affiliate.Status.choices)
    plan = serializers.CharField(source="plan.name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class AffiliateListApi(APIView):
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Affiliate.Status.choices, required=False)
        q = serializers.CharField(required=False, max_length=254)
        early_access = serializers.BooleanField(required=False, allow_null=True, default=None)

    class OutputSerializer(AffiliateOutputSerializer):
        early_access = serializers.BooleanField(
            help_text="Active in the last 30 days, or granted by hand (the perk)."
        )

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
            OpenApiParameter(
                "early_access",
                bool,
                description="1: only affiliates with early access (active in the last 30 "
                "days, or granted by hand); 0: only those without.",
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


class EmployeeListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        public_id = serializers.CharField(help_text="Pass it as `employee` to the attributions.")
        display_name = serializers.CharField(source="username")

    @extend_schema(
        operation_id="employees_list",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: OutputSerializer(many=True)},
        summary="Active employees, for the product's upgrade picker, paginated",
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(list_employees(), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
