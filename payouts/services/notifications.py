"""E-mails about payouts: the affiliate's notice (paid, failed with what to fix, unclaimed
at PayPal) and the run summary to Program managers. Each runs as a task queued by the change
it reports, after that change committed, and reads the payout as it then is."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from affiliates.models import User
from affiliates.roles import PROGRAM_MANAGER
from config.mail import send_email_on_commit
from config.money import format_money, to_decimal_string
from payouts.models import Payout, PayoutAccount, PayoutRun

S = Payout.State


def notify_payout(*, payout_id: int) -> bool:
    """E-mail the affiliate, in its language: paid (sent), failed (with what to fix), or
    unclaimed. "Paid" is news the affiliate may turn off (Affiliate.email_payout_sent);
    failed and unclaimed ask it to act and are always sent."""
    payout = Payout.objects.select_related("affiliate__user").get(pk=payout_id)
    affiliate = payout.affiliate
    settings_url = settings.AMBASSADOR_URL + reverse("payouts-settings")
    with translation.override(affiliate.email_language):
        money = format_money(payout.amount, payout.currency)
        values = {"money": money, "url": settings_url}
        if payout.state == S.PAID:
            if not affiliate.email_payout_sent:
                return False
            subject = _("Your payout of %(money)s was sent") % values
            via = str(dict(PayoutAccount.Method.choices).get(payout.method, payout.method))
            if payout.reference:
                body = _("We sent %(money)s to you via %(via)s (reference %(reference)s).") % {
                    **values,
                    "via": via,
                    "reference": payout.reference,
                }
            else:
                body = _("We sent %(money)s to you via %(via)s.") % {**values, "via": via}
        elif payout.state == S.FAILED:
            subject = _("Your payout of %(money)s could not be sent") % values
            body = (
                _("We could not send %(money)s: %(reason)s")
                % {**values, "reason": payout.failure_reason}
                + "\n\n"
                + _(
                    "What to do: check your payout method at %(url)s. The commissions stay in "
                    "your balance and go out with the next payout run."
                )
                % values
            )
        elif payout.provider_status == "UNCLAIMED":
            subject = _("Claim your payout of %(money)s at PayPal") % values
            body = _(
                "PayPal is holding %(money)s for %(destination)s. Log in to PayPal with that "
                "e-mail (or open an account with it) within 30 days to claim it, otherwise it "
                "comes back to us and waits for the next run. Payout settings: %(url)s"
            ) % {**values, "destination": payout.destination}
        else:
            return False
    send_email_on_commit(to=[affiliate.user.email], subject=subject, body=body)
    return True


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
