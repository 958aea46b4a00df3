"""E-mails about payouts: the affiliate's notice (paid, failed with what to fix, unclaimed
at PayPal) and the run summary to Program managers. Each runs as a task queued by the change
it reports, after that change committed, and reads the payout as it then is."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from affiliates.models import User
from affiliates.roles import PROGRAM_MANAGER
from config.emails import send_to_addresses, send_to_affiliate
from config.money import to_decimal_string
from payouts.models import Payout, PayoutAccount, PayoutRun

S = Payout.State


def payout_context(payout: Payout) -> dict[str, Any]:
    """What the payout e-mails' templates read (emails.catalog samples use it too). The
    method's label stays lazy: the template renders it in the affiliate's language."""
    return {
        "payout": payout,
        "via": dict(PayoutAccount.Method.choices).get(payout.method, payout.method),
        "settings_url": settings.AMBASSADOR_URL + reverse("payouts-settings"),
    }


def notify_payout(*, payout_id: int) -> bool:
    """E-mail the affiliate, in its language: paid (sent), failed (with what to fix), or
    unclaimed. "Paid" is news the affiliate may turn off (Affiliate.email_payout_sent);
    failed and unclaimed ask it to act and are always sent."""
    payout = Payout.objects.select_related("affiliate__user").get(pk=payout_id)
    if payout.state == S.PAID:
        name = "payout_sent"
    elif payout.state == S.FAILED:
        name = "payout_failed"
    elif payout.provider_status == "UNCLAIMED":
        name = "payout_unclaimed"
    else:
        return False
    return send_to_affiliate(name, affiliate=payout.affiliate, context=payout_context(payout))


def program_manager_emails() -> list[str]:
    users = User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=PROGRAM_MANAGER)
    )
    return sorted(set(users.values_list("email", flat=True)))


def run_summary_context(
    run: PayoutRun, *, by_method: dict[str, int], skips: list[Any], skip_count: int
) -> dict[str, Any]:
    """What templates/emails/payout_run_summary/ reads (the catalog's sample uses it too).
    Numbers are formatted here, not by the template (which would add thousands separators)."""
    return {
        "run": run,
        "run_number": str(run.pk),
        "started": f"{run.started_at:%Y-%m-%d %H:%M}",
        "state": str(run.get_state_display()),
        "payout_count": str(run.payout_count),
        "by_method": [(method, str(count)) for method, count in sorted(by_method.items())],
        "totals": [(c, to_decimal_string(v, c)) for c, v in sorted(run.totals.items())],
        "carried_count": str(run.carried_count),
        "skip_count": str(skip_count),
        "skips": [
            (str(s.affiliate), s.currency, to_decimal_string(s.amount, s.currency), s.reason)
            for s in skips
        ],
    }


def notify_run_summary(*, run_id: int) -> int:
    run = PayoutRun.objects.get(pk=run_id)
    recipients = program_manager_emails()
    if not recipients:
        return 0
    by_method: dict[str, int] = defaultdict(int)
    for method in run.payouts.values_list("method", flat=True):
        by_method[method] += 1
    skips = list(run.skips.select_related("affiliate")[:200])
    context = run_summary_context(
        run, by_method=by_method, skips=skips, skip_count=run.skips.count() if skips else 0
    )
    # One message each (send_to_addresses): staff addresses stay private.
    return send_to_addresses("payout_run_summary", to=recipients, context=context)
