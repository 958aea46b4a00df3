"""Django admin for the program's people. Status changes go through the services (so e-mails
go out and the audit log records who did it); usernames change only through the affiliate's
own settings (so aliases are kept). The affiliates list's rollup columns (clicks and earnings
over 30 days) are added by tracking.admin, which may read tracking's rollups."""

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.template.response import TemplateResponse
from django.utils import timezone

from affiliates import services
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
from config.errors import ServiceError

# Fields that make or shape a staff account. Staff accounts and permissions are managed by
# superusers only (DESIGN.md "who may do what"): a program manager holds every affiliates
# permission, the User model's included, and must still never promote itself or anyone else.
_PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Accounts. Non-superusers (program managers) may edit affiliates' accounts — name,
    e-mail, the is_active checkbox — but never a privilege field (read-only, so not in the
    form: a forged POST of is_superuser=on is ignored), and never a staff or superuser
    account at all (no change, no password reset, no delete: taking over a superuser's
    password would be the same escalation)."""

    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    fieldsets = (
        (None, {"fields": ("email", "password", "name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [f for f in _PRIVILEGE_FIELDS if f not in fields]
        return fields

    def _is_staff_account(self, obj) -> bool:
        return obj is not None and (obj.is_staff or obj.is_superuser)

    def has_change_permission(self, request, obj=None) -> bool:
        if self._is_staff_account(obj) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if self._is_staff_account(obj) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The is_active checkbox goes through the service, so a deactivated affiliate's links
        # stop being honoured at once (the resolver's answers are dropped on commit).
        if change and "is_active" in form.changed_data:
            wanted = obj.is_active
            obj.is_active = not wanted  # saved as it was; the service flips it (and audits)
            super().save_model(request, obj, form, change)
            services.set_user_active(
                user=obj, active=wanted, now=timezone.now(), actor=request.user
            )
            return
        super().save_model(request, obj, form, change)


# Groups are roles (affiliates.roles): granting one is granting permissions, so superusers
# only, whatever permissions a group holds (sync_roles gives no auth permission to anyone,
# and this stays closed even if someone adds one by hand).
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser


class PlanTierInline(admin.TabularInline):
    model = PlanTier
    extra = 0


class PlanBonusInline(admin.TabularInline):
    model = PlanBonus
    extra = 0


@admin.action(description="Make the selected plan the default", permissions=["change"])
def make_default(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one plan.", messages.ERROR)
        return
    try:
        plan = services.make_default_plan(
            plan=queryset.get(), actor=request.user, now=timezone.now()
        )
    except ServiceError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return
    modeladmin.message_user(request, f"{plan} is now the default plan.", messages.SUCCESS)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    # There is always exactly one default plan (commissions.rules.default_plan refuses to
    # guess figures without one): the flag moves only through the "make default" action,
    # and the default plan cannot be deleted.
    readonly_fields = ["is_default"]
    actions = [make_default]

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    list_display = [
        "name",
        "is_default",
        "signup_bounty",
        "first_payment_bp",
        "recurring_bp",
        "recurring_months",
        "use_tiers",
    ]
    inlines = [PlanTierInline, PlanBonusInline]


class UsernameInline(admin.TabularInline):
    """Username history: the current name and every earlier alias, read-only."""

    model = Username
    extra = 0
    fields = ["name", "created_at", "retired_at"]
    readonly_fields = ["name", "created_at", "retired_at"]
    can_delete = False
    verbose_name_plural = "Username history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CouponInline(admin.TabularInline):
    model = Coupon
    extra = 0
    fields = ["code", "is_active", "created_at"]
    readonly_fields = ["created_at"]


def _bulk(modeladmin, request, queryset, service, verb: str) -> None:
    done = skipped = 0
    now = timezone.now()
    for affiliate in queryset.select_related("user"):
        try:
            service(affiliate=affiliate, now=now, actor=request.user)
        except ServiceError:
            skipped += 1  # not in a status this action applies to
        else:
            done += 1
    modeladmin.message_user(request, f"{done} affiliate(s) {verb}.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(
            request,
            f"{skipped} skipped: their status does not allow being {verb}.",
            messages.WARNING,
        )


@admin.action(description="Approve selected affiliates (e-mails them)", permissions=["change"])
def approve_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.approve_affiliate, "approved")


@admin.action(description="Reject selected applications (e-mails them)", permissions=["change"])
def reject_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.reject_affiliate, "rejected")


@admin.action(description="Suspend selected affiliates (e-mails them)", permissions=["change"])
def suspend_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.suspend_affiliate, "suspended")


@admin.action(description="Reinstate selected suspended affiliates", permissions=["change"])
def reinstate_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.reinstate_affiliate, "reinstated")


@admin.register(Affiliate)
class AffiliateAdmin(admin.ModelAdmin):
    """The affiliates list and page. Its last-30-day columns come from tracking's rollups,
    which this app must not read: tracking.admin re-registers a subclass that adds them."""

    list_display = [
        "username",
        "email",
        "status",
        "plan",
        "is_paying_customer",
        "is_employee",
        "created_at",
    ]
    list_select_related = ["user", "plan"]
    list_filter = [
        "status",
        "plan",
        "is_employee",
        "is_paying_customer",
        "early_access",
        "payout_frequency",
    ]
    search_fields = ["username", "user__email", "public_id", "usernames__name"]
    date_hierarchy = "created_at"
    actions = [approve_selected, reject_selected, suspend_selected, reinstate_selected]
    inlines = [UsernameInline, CouponInline]
    # A scheme-less website ("example.org") reads as https, as Django 6 will.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    # Status and username have their own services (e-mails, aliases, cache invalidation).
    readonly_fields = [
        "public_id",
        "user",
        "username",
        "status",
        "applied_at",
        "approved_at",
        "rejected_at",
        "suspended_at",
        "terms_accepted_at",
        "created_at",
    ]
    fieldsets = (
        (None, {"fields": ("public_id", "user", "username", "status", "status_note")}),
        ("Application", {"fields": ("website", "audience", "promotion", "terms_accepted_at")}),
        (
            "Commission and payout",
            {
                "fields": (
                    "plan",
                    "commission_override_bp",
                    "payout_threshold",
                    "payout_frequency",
                )
            },
        ),
        ("Flags", {"fields": ("is_employee", "early_access", "is_paying_customer", "language")}),
        (
            "Dates",
            {
                "fields": (
                    "applied_at",
                    "approved_at",
                    "rejected_at",
                    "suspended_at",
                    "created_at",
                )
            },
        ),
    )

    @admin.display(ordering="user__email", description="E-mail")
    def email(self, obj: Affiliate) -> str:
        return obj.user.email

    def has_add_permission(self, request) -> bool:
        # New affiliates come from /apply/ or `manage.py create_affiliate`, which validate the
        # username and write its history row.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_impersonate"] = request.user.has_perm("affiliates.impersonate_affiliate")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ["code", "affiliate", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "affiliate__username", "affiliate__user__email"]
    raw_id_fields = ["affiliate"]


@admin.action(description="Revoke selected keys (at once, for good)", permissions=["change"])
def revoke_selected(modeladmin, request, queryset):
    done = services.revoke_api_keys(keys=queryset, now=timezone.now())
    modeladmin.message_user(request, f"{done} key(s) revoked.", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Admin "add" asks for a name only and creates the key through the service (the one place
    that draws and hashes a key), then shows the raw key on the answer page, once: it is
    stored nowhere (not even in a flash message, which would sit in a cookie or the session).
    After that a key can be renamed or revoked, never edited."""

    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "hashed_key", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke_selected]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name"]
        return ["name", "prefix", "hashed_key", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = services.create_api_key(name=obj.name, now=timezone.now())
        # The admin goes on with `obj` (log entry, answer page): make it the created row.
        obj.__dict__.update({f.attname: getattr(key, f.attname) for f in ApiKey._meta.fields})
        obj._state.adding = False
        obj._raw_key = raw

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": obj,
            "raw_key": obj._raw_key,
            "title": "API key created",
        }
        response = TemplateResponse(request, "admin/affiliates/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only for everyone: an audit log nobody can edit."""

    list_display = ["at", "actor", "action", "affiliate"]
    list_filter = ["action"]
    search_fields = ["actor__email", "affiliate__username", "action"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
