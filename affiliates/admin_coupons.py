"""Coupons in the admin: an affiliate's codes (inline on its page) and the list of every
coupon. A coupon attributes a customer with no click: a Stripe invoice paid with it, a late
claim naming it (tracking.services.late_claims), `?coupon=` carried through its links."""

from __future__ import annotations

from django.contrib import admin

from affiliates.models import Coupon


class CouponInline(admin.TabularInline):
    model = Coupon
    extra = 0
    fields = ["code", "is_active", "stripe_coupon_id", "stripe_promotion_code_id", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "affiliate",
        "is_active",
        "stripe_coupon_id",
        "stripe_promotion_code_id",
        "created_at",
    ]
    list_filter = ["is_active"]
    search_fields = [
        "code",
        "stripe_coupon_id",
        "stripe_promotion_code_id",
        "affiliate__username",
        "affiliate__user__email",
    ]
    raw_id_fields = ["affiliate"]
