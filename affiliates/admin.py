from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from affiliates.models import (
    Affiliate,
    ApiKey,
    AuditLog,
    Coupon,
    Plan,
    PlanBonus,
    PlanTier,
    User,
    Username,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password", "name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class PlanTierInline(admin.TabularInline):
    model = PlanTier
    extra = 0


class PlanBonusInline(admin.TabularInline):
    model = PlanBonus
    extra = 0


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_default",
        "signup_bounty",
        "first_payment_bp",
        "recurring_bp",
        "use_tiers",
    ]
    inlines = [PlanTierInline, PlanBonusInline]


class UsernameInline(admin.TabularInline):
    model = Username
    extra = 0
    readonly_fields = ["name", "created_at", "retired_at"]
    can_delete = False


class CouponInline(admin.TabularInline):
    model = Coupon
    extra = 0


@admin.register(Affiliate)
class AffiliateAdmin(admin.ModelAdmin):
    list_display = ["username", "user", "status", "plan", "created_at"]
    list_filter = ["status", "plan", "is_employee", "is_paying_customer", "early_access"]
    search_fields = ["username", "user__email", "public_id", "usernames__name"]
    inlines = [UsernameInline, CouponInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "hashed_key", "created_at", "last_used_at"]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "affiliate"]
    list_filter = ["action"]
