from django.urls import path

from affiliates import api, api_testimonials

urlpatterns = [
    path("affiliates", api.AffiliateListApi.as_view(), name="api-affiliates"),
    path("employees", api.EmployeeListApi.as_view(), name="api-employees"),
    path("testimonials", api_testimonials.TestimonialListApi.as_view(), name="api-testimonials"),
]
