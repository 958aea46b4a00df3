from django.urls import path

from payouts.api import PayoutListApi

urlpatterns = [
    path("payouts", PayoutListApi.as_view(), name="api-payouts"),
]
