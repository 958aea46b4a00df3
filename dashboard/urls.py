from django.urls import path

from dashboard import views

urlpatterns = [
    path("dashboard/", views.home, name="dashboard"),
    path("dashboard/program/", views.program, name="dashboard-program"),
]
