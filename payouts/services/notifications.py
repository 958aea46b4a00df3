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
from config.emails import send_to_affiliate
from config.mail import send_email_on_commit
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


def notify_run_summary(*, run_id: int) -> int:
    run = PayoutRun.objects.get(pk=run_id)
    recipients = program_manager_emails()
    if not recipients:
        return 0
    lines = [
        f"Payout run {run.pk} at {run.started_at:%Y-%m-%d %H:%M} UTC "
        f"({'two-weekly affiliates' if run.two_weekly_only else 'all affiliates'})",
        f"State: {run.get_state_display()}",
        f"Payouts: {run.payout_count}",
    ]
    by_method: dict[str, int] = defaultdict(int)
    for method in run.payouts.values_list("method", flat=True):
        by_method[method] += 1
    lines += [f"  {method}: {count}" for method, count in sorted(by_method.items())]
    lines += [f"Total {c}: {to_decimal_string(v, c)}" for c, v in sorted(run.totals.items())]
    lines.append(f"Carried forward (below threshold or negative): {run.carried_count}")
    skips = list(run.skips.select_related("affiliate")[:200])
    if skips:
        lines.append(f"Held ({run.skips.count()}):")
        lines += [
            f"  {s.affiliate} {s.currency} {to_decimal_string(s.amount, s.currency)}: {s.reason}"
            for s in skips
        ]
    body = "\n".join(lines)
    subject = f"Payout run {run.pk}: {run.payout_count} payouts"
    for recipient in recipients:  # one message each: staff addresses stay private
        send_email_on_commit(to=[recipient], subject=subject, body=body)
    return len(recipients)
