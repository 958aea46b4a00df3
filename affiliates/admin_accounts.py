"""Django admin for staff accounts, roles (groups), API keys and the audit log: who may do
what. Imported by affiliates.admin (split out to keep that module readable)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.template.response import TemplateResponse
from django.utils import timezone

from affiliates import services
from affiliates.models import ApiKey, AuditLog, User

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
