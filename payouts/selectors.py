"""Reads shared by views, the API, admin exports, the payout run and check_ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from affiliates.models import Affiliate
from commissions.models import CommissionEntry
from payouts.models import Payout, PayoutAccount, PayoutItem


def payout_account(*, affiliate: Affiliate) -> PayoutAccount:
    """The affiliate's payout account, or an unsaved empty one (method none) when it has
    none yet: reading never creates the row (the writes in payouts.services.accounts do)."""
    account = PayoutAccount.objects.filter(affiliate=affiliate).first()
    return account if account is not None else PayoutAccount(affiliate=affiliate)


def hold_reason(*, affiliate: Affiliate, account: PayoutAccount | None, now: datetime) -> str:
    """Why this affiliate cannot be paid now ("" when it can).

    A suspended affiliate, or one whose user account is deactivated, is held: its approved
    balance stays approved (nothing is forfeited here) until an admin reinstates it, or
    declines / claws back the entries, which is a decision for a person."""
    if not affiliate.user.is_active:
        return _("affiliate's user account is deactivated: payouts held")
    if affiliate.status == Affiliate.Status.SUSPENDED:
        return _("affiliate is suspended: payouts held")
    if affiliate.status == Affiliate.Status.APPLIED:
        return _("affiliate's application is still under review: payouts held")
    if affiliate.status == Affiliate.Status.REJECTED:
        return _("affiliate's application was rejected: payouts held")
    if affiliate.status != Affiliate.Status.APPROVED:  # a status added later: its label
        return _("affiliate's status is “%(status)s”: payouts held") % {
            "status": affiliate.get_status_display()
        }
    if account is None or account.method == PayoutAccount.Method.NONE:
        return _("no payout method set")
    if account.on_hold:
        return _("held by admin: %(reason)s") % {
            "reason": account.hold_reason or _("no reason given")
        }
    if account.details_changed_at:
        until = account.details_changed_at + timedelta(hours=settings.PAYOUT_DETAILS_HOLD_HOURS)
        if now < until:
            return _("payout details changed; held until %(until)s UTC") % {
                "until": f"{until:%Y-%m-%d %H:%M}"
            }
    if account.method == PayoutAccount.Method.PAYPAL:
        if not account.paypal_email or not account.paypal_confirmed_at:
            return _("PayPal e-mail not confirmed")
    if account.method == PayoutAccount.Method.STRIPE:
        if not account.stripe_account_id or not account.stripe_payouts_enabled:
            return _("Stripe account cannot receive payouts yet (onboarding unfinished)")
    return ""


def payouts_for_api(
    *, affiliate_public_id: str | None = None, state: str | None = None
) -> QuerySet:
    qs = Payout.objects.select_related("affiliate").order_by("-created_at", "-pk")
    if affiliate_public_id:
        qs = qs.filter(affiliate__public_id=affiliate_public_id)
    if state:
        qs = qs.filter(state=state)
    return qs


def payouts_for_affiliate(*, affiliate_id: int, limit: int = 50) -> list[Payout]:
    return list(
        Payout.objects.filter(affiliate_id=affiliate_id).order_by("-created_at", "-pk")[:limit]
    )


def due_manual_payouts(*, method: str | None = None) -> QuerySet:
    """Payouts the admin pays by hand (or exports for PayPal's mass-pay upload)."""
    qs = Payout.objects.filter(state=Payout.State.PENDING).select_related(
        "affiliate__user", "affiliate__payout_account"
    )
    if method:
        qs = qs.filter(method=method)
    else:
        qs = qs.filter(method=PayoutAccount.Method.MANUAL)
    return qs.order_by("pk")


def ledger_problems(*, limit: int = 50) -> list[str]:
    """What check_ledger reports for payouts (empty when all is well):
    - every `paid` entry belongs to exactly one paid payout (through a live item);
    - every `in_payout` entry belongs to exactly one open payout;
    - a payout's amount equals the sum of its live items' amounts, and each item's amount
      equals its entry's;
    - a failed payout has no live items."""
    problems: list[str] = []
    paid_ids = CommissionEntry.objects.filter(state=CommissionEntry.State.PAID)
    bad_paid = paid_ids.exclude(
        pk__in=PayoutItem.objects.filter(live=True, payout__state=Payout.State.PAID).values(
            "entry_id"
        )
    )
    for pk in bad_paid.values_list("pk", flat=True)[:limit]:
        problems.append(f"entry {pk} is paid but in no paid payout")
    doubles = (
        PayoutItem.objects.filter(live=True)
        .values("entry_id")
        .annotate(n=Count("payout_id"))
        .filter(n__gt=1)
    )
    for double in doubles[:limit]:
        problems.append(f"entry {double['entry_id']} is in {double['n']} live payouts")
    open_states = [
        Payout.State.AWAITING_APPROVAL,
        Payout.State.PENDING,
        Payout.State.SENDING,
        Payout.State.UNKNOWN,
    ]
    stray = CommissionEntry.objects.filter(state=CommissionEntry.State.IN_PAYOUT).exclude(
        pk__in=PayoutItem.objects.filter(live=True, payout__state__in=open_states).values(
            "entry_id"
        )
    )
    for pk in stray.values_list("pk", flat=True)[:limit]:
        problems.append(f"entry {pk} is in_payout but in no open payout")
    wrong_entry_state = PayoutItem.objects.filter(
        live=True, payout__state=Payout.State.PAID
    ).exclude(entry__state=CommissionEntry.State.PAID)
    for unpaid in wrong_entry_state.values("entry_id", "payout_id")[:limit]:
        problems.append(
            f"entry {unpaid['entry_id']} of paid payout {unpaid['payout_id']} is not paid"
        )
    sums = (
        Payout.objects.exclude(state=Payout.State.FAILED)
        .annotate(items_sum=Sum("items__amount", filter=Q(items__live=True)))
        .exclude(amount=0, items_sum=None)
        .values("pk", "amount", "items_sum")
    )
    for row in sums.iterator():
        if row["items_sum"] != row["amount"]:
            problems.append(
                f"payout {row['pk']} amount {row['amount']} != its entries' sum {row['items_sum']}"
            )
            if len(problems) >= limit:
                break
    item_mismatch = PayoutItem.objects.exclude(amount=F("entry__amount"))
    for differing in item_mismatch.values("pk", "payout_id")[:limit]:
        problems.append(
            f"payout item {differing['pk']} of payout {differing['payout_id']} differs from "
            "its entry"
        )
    failed_live = PayoutItem.objects.filter(live=True, payout__state=Payout.State.FAILED)
    for item in failed_live.values("entry_id", "payout_id")[:limit]:
        problems.append(f"failed payout {item['payout_id']} still holds entry {item['entry_id']}")
    return problems


def ledger_violations() -> list[str]:
    """The name commissions.selectors (check_ledger) calls."""
    return ledger_problems()
