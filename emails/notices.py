"""Notices to Program managers: a dispute opened or closed, with its whole case (payment,
customer, affiliate, the entries it froze or reversed), as Freemius sends the seller.
Queued by commissions.services.reversals (by task name, after commit)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q

from affiliates.models import Affiliate, Plan
from commissions import rules
from commissions.models import CommissionEntry, Dispute
from config.emails import absolute, send_to_addresses, send_to_affiliate


def dispute_context(dispute: Dispute, entries: list[CommissionEntry]) -> dict[str, Any]:
    payment = dispute.payment
    referral = payment.referral if payment else None
    return {
        "dispute": dispute,
        "payment": payment,
        "customer_id": payment.customer_id if payment else "",
        "affiliate_name": referral.affiliate.username if referral and referral.affiliate else "",
        "entries": entries,
        "admin_url": absolute(f"/admin/commissions/payment/{payment.pk}/change/")
        if payment and payment.pk
        else "",
    }


def notify_dispute(*, dispute_id: int) -> int:
    """E-mail every Program manager about the dispute as it now is (open: its payment's
    entries are frozen while it lasts; won: released; lost: reversed). Returns recipients."""
    from payouts.services.notifications import program_manager_emails

    dispute = (
        Dispute.objects.select_related("payment__referral__affiliate").filter(pk=dispute_id).first()
    )
    if dispute is None:
        return 0
    entries: list[CommissionEntry] = []
    if dispute.payment_id:
        entries = list(
            CommissionEntry.objects.filter(payment_id=dispute.payment_id)
            .select_related("affiliate")
            .order_by("created_at", "pk")
        )
    name = "dispute_opened" if dispute.status == Dispute.Status.OPEN else "dispute_closed"
    return send_to_addresses(
        name, to=program_manager_emails(), context=dispute_context(dispute, entries)
    )


# --- plan and rates -----------------------------------------------------------------------


def plan_context(affiliate: Affiliate) -> dict[str, Any]:
    return {
        "plan": rules.plan_of(affiliate),
        "override_bp": affiliate.commission_override_bp,
        "currency": settings.PROGRAM_CURRENCY,
    }


def notify_plan_changed(*, affiliate: Affiliate) -> bool:
    """The affiliate's plan or its own fixed rate changed (admin): tell it its rates now.
    Transactional (its earnings' terms), so always sent."""
    return send_to_affiliate("plan_changed", affiliate=affiliate, context=plan_context(affiliate))


def notify_plan_rates_changed(*, plan: Plan) -> int:
    """A plan's rates changed (admin): every approved affiliate earning by it is told, one
    message each. Affiliates with a fixed rate of their own are unaffected and not told."""
    on_plan = Q(plan=plan)
    if plan.is_default:
        on_plan |= Q(plan__isnull=True, is_employee=False)
    if plan.is_employee_default:
        on_plan |= Q(plan__isnull=True, is_employee=True)
    affiliates = Affiliate.objects.filter(
        on_plan, status=Affiliate.Status.APPROVED, commission_override_bp__isnull=True
    ).select_related("user", "plan")
    return sum(notify_plan_changed(affiliate=a) for a in affiliates.iterator(chunk_size=500))
