"""Testimonials in the admin: managers approve (an action, so the approver and time are
recorded by the service); Support reads only (its group has view_ permissions only)."""

from django.contrib import admin, messages
from django.utils import timezone

from affiliates.models import Testimonial
from affiliates.testimonials import approve_testimonials, render_testimonial


@admin.register(Testimonial)
class TestimonialAdmin(admin.ModelAdmin):
    list_display = ("affiliate", "approved", "approved_by", "approved_at", "updated_at")
    list_filter = ("approved",)
    search_fields = ("affiliate__username", "text")
    list_select_related = ("affiliate", "approved_by")
    readonly_fields = ("preview", "approved_by", "approved_at", "created_at", "updated_at")
    fields = ("affiliate", "text", "website", "preview", "approved", *readonly_fields[1:])
    raw_id_fields = ("affiliate",)
    actions = ["approve"]

    @admin.display(description="Preview (sanitized, as the site shows it)")
    def preview(self, obj: Testimonial) -> str:
        from django.utils.safestring import mark_safe

        # Safe: the allow-list output (p, em, strong, a with http/https/mailto) only.
        return mark_safe(render_testimonial(obj.text)) if obj.pk else "—"

    @admin.action(description="Approve selected testimonials", permissions=["change"])
    def approve(self, request, queryset) -> None:
        count = approve_testimonials(testimonials=queryset, by=request.user, now=timezone.now())
        self.message_user(request, f"{count} testimonial(s) approved.", messages.SUCCESS)

    def save_model(self, request, obj: Testimonial, form, change: bool) -> None:
        # Ticking "approved" by hand records who and when, as the action does.
        if obj.approved and not obj.approved_at:
            obj.approved_by, obj.approved_at = request.user, timezone.now()
        if not obj.approved:
            obj.approved_by, obj.approved_at = None, None
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)
