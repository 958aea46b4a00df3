"""Admin for webhooks: endpoints (created through the service, the secret shown once on the
answer page and never again), deliveries with their attempts, and a resend action."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError
from webhooks import services
from webhooks.models import EVENT_TYPES, Attempt, Delivery, Endpoint


class EndpointForm(forms.ModelForm):
    # Checked by the service (clean_url), the one rule for the command and admin.
    url = forms.CharField(max_length=2000, label=_("URL"))
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = Endpoint
        fields = ["url", "events", "description", "enabled"]

    def clean_url(self) -> str:
        try:
            return services.clean_url(self.cleaned_data.get("url"))
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.action(description=_("Enable again (clears the failure record)"), permissions=["change"])
def enable_selected(modeladmin, request, queryset):
    done = sum(services.enable_endpoint(endpoint=e) for e in queryset)
    modeladmin.message_user(request, f"{done} endpoint(s) enabled.", messages.SUCCESS)


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = [
        "url",
        "event_list",
        "enabled",
        "failure_count",
        "last_attempt_at",
        "last_result",
    ]
    list_filter = ["enabled"]
    search_fields = ["url", "description"]
    actions = [enable_selected]
    # The secret is not a field here at all: shown once at creation, never again.
    readonly_fields = [
        "failure_count",
        "failing_since",
        "last_attempt_at",
        "last_result",
        "disabled_at",
        "disabled_reason",
        "created_at",
    ]

    @admin.display(description=_("events"))
    def event_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events) or str(_("all"))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["url", "events", "description"]
        return ["url", "events", "description", "enabled", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        endpoint, secret = services.create_endpoint(
            url=obj.url,
            events=form.cleaned_data.get("events"),
            now=timezone.now(),
            description=obj.description,
        )
        # The admin goes on with `obj` (log entry, answer page): make it the created row.
        obj.__dict__.update(
            {f.attname: getattr(endpoint, f.attname) for f in Endpoint._meta.fields}
        )
        obj._state.adding = False
        obj._secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        # An answer page, not a flash message: a message would sit in a cookie or the
        # session; this page is sent once and not cached.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "endpoint": obj,
            "secret": obj._secret,
            "title": _("Webhook endpoint created"),
        }
        response = TemplateResponse(request, "admin/webhooks/endpoint/created.html", context)
        response["Cache-Control"] = "no-store"
        return response


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["at", "status_code", "error", "duration_ms", "ok"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description=_("Resend (same webhook-id, new schedule)"), permissions=["change"])
def resend_selected(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    done = services.resend_deliveries(delivery_ids=ids, now=timezone.now())
    skipped = len(ids) - done
    modeladmin.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(
            request,
            f"{skipped} skipped: their endpoint is disabled; enable it first.",
            messages.WARNING,
        )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only but for the resend action: an outbox row is what was (to be) sent."""

    list_display = [
        "webhook_id",
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "last_result",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["state", "event_type", "endpoint"]
    search_fields = ["webhook_id", "event_key"]
    list_select_related = ["endpoint"]
    actions = [resend_selected]
    inlines = [AttemptInline]
    readonly_fields = [
        f.name for f in Delivery._meta.fields if f.name not in ("token", "lease_until")
    ]
    exclude = ["token", "lease_until"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
