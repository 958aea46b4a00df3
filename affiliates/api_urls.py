from django.urls import path

from affiliates import api

urlpatterns = [
    path("affiliates", api.AffiliateListApi.as_view(), name="api-affiliates"),
    path("employees", api.EmployeeListApi.as_view(), name="api-employees"),
]
