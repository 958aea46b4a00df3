from django.contrib.auth import views as auth_views
from django.urls import include, path

from affiliates import views
from affiliates.forms import QueuedPasswordResetForm

# No namespace: django.contrib.auth.urls' names (login, logout, password_reset…) are used
# unqualified by Django itself (LOGIN_URL = "login").
urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    # Before the include: the reset e-mail is queued for the worker (config.mail).
    path(
        "accounts/password_reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("apply/", views.apply, name="affiliates-apply"),
    path("terms/", views.terms, name="affiliates-terms"),
    path("settings/", views.username_settings, name="affiliates-settings"),
    path("dashboard/testimonial/", views.testimonial, name="affiliates-testimonial"),
    path("impersonate/stop/", views.impersonate_stop, name="affiliates-impersonate-stop"),
    path(
        "impersonate/<str:public_id>/",
        views.impersonate_start,
        name="affiliates-impersonate-start",
    ),
]
