from django.urls import path

from commissions import api

urlpatterns = [
    path("payments", api.PaymentApi.as_view(), name="api-payments"),
    path("refunds", api.RefundApi.as_view(), name="api-refunds"),
    path("commissions", api.CommissionListApi.as_view(), name="api-commissions"),
    # The affiliate detail carries the ledger balances, so commissions serves it (the list,
    # /affiliates, is affiliates.api_urls').
    path("affiliates/<str:public_id>", api.AffiliateDetailApi.as_view(), name="api-affiliate"),
]
