"""Admin for late referral claims (tracking.services.late_claims): Program managers accept
or reject pending claims with a note (an action with a confirmation page); Support reads
(affiliates.roles gives every tracking model to both groups, and the actions need the change
permission). Claims are written only by the API: no add, no edit. Registered by the import
at the end of tracking/admin.py."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from affiliates.models import User
from tracking.models import ReferralClaim
from tracking.services import late_claims


class DecisionForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        max_length=2000,
        help_text="Why (kept on each claim and in the audit log).",
    )


@admin.register(ReferralClaim)
class ReferralClaimAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "previous_affiliate",
        "affiliate",
        "source",
        "state",
        "created_at",
        "decided_at",
        "decided_by",
    ]
    list_filter = ["state", "source"]
    search_fields = ["referral__customer_id", "affiliate__username", "evidence"]
    list_select_related = ["referral", "affiliate", "previous_affiliate", "decided_by"]
    ordering = ["-created_at"]
    actions = ["accept_claims", "reject_claims"]
    readonly_fields = [
        "referral",
        "affiliate",
        "previous_affiliate",
        "source",
        "coupon",
        "evidence",
        "state",
        "created_at",
        "decided_at",
        "decided_by",
        "decision_note",
    ]

    @admin.display(description="Customer", ordering="referral__customer_id")
    def customer(self, obj: ReferralClaim) -> str:
        return obj.referral.customer_id

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReferralClaim | None = None) -> bool:
        return False  # the decision trail is kept

    def _decide(self, request: HttpRequest, queryset: QuerySet, *, accept: bool):
        action = "accept_claims" if accept else "reject_claims"
        form = DecisionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            service = late_claims.accept_claim if accept else late_claims.reject_claim
            now = timezone.now()
            actor = request.user if isinstance(request.user, User) else None
            done = sum(
                service(claim_id=pk, actor=actor, note=form.cleaned_data["note"], now=now)
                for pk in queryset.order_by("created_at", "pk").values_list("pk", flat=True)
            )
            skipped = queryset.count() - done
            verb = "accepted" if accept else "rejected"
            self.message_user(
                request,
                f"{done} claim(s) {verb}; {skipped} already decided, left as they were.",
                messages.SUCCESS if done else messages.WARNING,
            )
            return None
        title = "Accept the claims" if accept else "Reject the claims"
        explanation = (
            "Each customer moves to the claimant from now on: its later payments credit "
            "the claimant; commissions already written stay with the first affiliate."
            if accept
            else "Each customer stays with the affiliate it has (first referrer wins)."
        )
        return TemplateResponse(
            request,
            "admin/tracking/referralclaim/decide.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "explanation": explanation,
                "claims": queryset.select_related("referral", "affiliate", "previous_affiliate"),
                "form": form,
                "action": action,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Accept the selected claims…", permissions=["change"])
    def accept_claims(self, request: HttpRequest, queryset: QuerySet):
        return self._decide(request, queryset, accept=True)

    @admin.action(description="Reject the selected claims…", permissions=["change"])
    def reject_claims(self, request: HttpRequest, queryset: QuerySet):
        return self._decide(request, queryset, accept=False)
