from django.urls import path

from payouts import views

urlpatterns = [
    path("payouts/settings/", views.payout_settings, name="payouts-settings"),
    path(
        "payouts/paypal/confirm/<str:token>/", views.confirm_paypal, name="payouts-paypal-confirm"
    ),
    path("payouts/stripe/return/", views.stripe_return, name="payouts-stripe-return"),
    path("payouts/stripe/refresh/", views.stripe_refresh, name="payouts-stripe-refresh"),
    path("payouts/export/<str:kind>.csv", views.export_csv, name="payouts-export"),
    path("webhooks/paypal/", views.paypal_webhook, name="webhooks-paypal"),
    # Stripe Connect's own endpoint and secret (connected accounts' events never reach the
    # platform endpoint /webhooks/stripe/).
    path("webhooks/stripe/connect/", views.stripe_connect_webhook, name="webhooks-stripe-connect"),
]
