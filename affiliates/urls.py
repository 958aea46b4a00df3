from django.urls import include, path

from affiliates import views

# No namespace: django.contrib.auth.urls' names (login, logout, password_reset…) are used
# unqualified by Django itself (LOGIN_URL = "login").
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("apply/", views.apply, name="affiliates-apply"),
    path("terms/", views.terms, name="affiliates-terms"),
    path("settings/", views.username_settings, name="affiliates-settings"),
    path("impersonate/stop/", views.impersonate_stop, name="affiliates-impersonate-stop"),
    path(
        "impersonate/<str:public_id>/",
        views.impersonate_start,
        name="affiliates-impersonate-start",
    ),
]
