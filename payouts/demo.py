"""Demo payouts for seed_demo (deterministic, idempotent): every demo affiliate gets a
confirmed PayPal account at its own e-mail, set up long before the demo's history, so
`manage.py run_payouts` pays them through the local PayPal peer of `make run`; then the
program's past is replayed along the payout calendar — on the 1st of each past month at
13:07 UTC (config/celery.py's monthly run) the commissions due by then are approved, the
run pays every balance over its threshold, and those payouts are marked paid by PayPal a
few hours later. Finally the commissions due by the demo clock are approved: what is left
is an approved balance waiting for the next run and pending entries still in their hold.

A run date before the latest run or approval already written is not run again, so
re-seeding later adds only the months since; the payouts' sends and e-mails are queued as for any run, and find nothing
left to do (the payouts are already paid)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

from django.conf import settings
from django.db.models import Max

from affiliates.models import Affiliate
from commissions.models import CommissionEntry
from commissions.rollups import refresh_daily_money
from commissions.services import approve_due_commissions
from payouts.models import Payout, PayoutAccount, PayoutRun
from payouts.services import approve_run, mark_payout_paid, run_payouts
from payouts.services.transitions import close_batch_if_final

HISTORY_DAYS = 150  # as far back as commissions/demo.py's payments go
PAID_AFTER = timedelta(hours=3)  # PayPal's answer, a few hours after the run


def _run_dates(now: datetime) -> list[datetime]:
    """The monthly payout runs (the 1st, 13:07 UTC) after now − HISTORY_DAYS, before now."""
    start = (now - timedelta(days=HISTORY_DAYS)).astimezone(UTC)
    year, month = start.year, start.month
    dates = []
    while True:
        at = datetime(year, month, 1, 13, 7, tzinfo=UTC)
        if at + PAID_AFTER > now:
            return dates
        if at > start:
            dates.append(at)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _replay_run(at: datetime) -> int:
    """One past payout run at `at`, paid at `at` + PAID_AFTER; how many payouts it made."""
    approve_due_commissions(now=at, notify=False)
    result = run_payouts(now=at, source="seed_demo")
    if result.run is None:
        return 0
    if settings.PAYOUT_REQUIRE_APPROVAL:
        approve_run(run_id=result.run.pk, actor=None, now=at)
    paid_at = at + PAID_AFTER
    for payout in Payout.objects.filter(run=result.run).order_by("pk"):
        mark_payout_paid(
            payout_id=payout.pk,
            now=paid_at,
            provider_id=f"DEMO{payout.pk:08d}",
            provider_status="SUCCESS",
            source="seed_demo",
        )
        if payout.paypal_batch_id:
            close_batch_if_final(batch_id=payout.paypal_batch_id, now=paid_at)
    return result.payouts


def seed(*, now: datetime, rng: Random) -> list[str]:
    # Set up well before the history and past the 48 h hold on new payout details.
    set_up_at = now - timedelta(days=HISTORY_DAYS + 30)
    created = 0
    for affiliate in Affiliate.objects.select_related("user").order_by("pk"):
        _, was_created = PayoutAccount.objects.get_or_create(
            affiliate=affiliate,
            defaults={
                "method": PayoutAccount.Method.PAYPAL,
                "paypal_email": affiliate.user.email,
                "paypal_confirmed_at": set_up_at,
                "details_changed_at": set_up_at,
                "updated_at": set_up_at,
            },
        )
        created += was_created
    # The history already written ends at the latest approval or run: replaying an earlier
    # date again would pay, "back then", commissions approved since.
    written = [
        PayoutRun.objects.aggregate(at=Max("started_at"))["at"],
        CommissionEntry.objects.aggregate(at=Max("approved_at"))["at"],
    ]
    written_until = max((at for at in written if at is not None), default=None)
    paid = sum(
        _replay_run(at) for at in _run_dates(now) if written_until is None or at > written_until
    )
    approved = approve_due_commissions(now=now, notify=False).approved
    refresh_daily_money(now=now)
    total = PayoutAccount.objects.count()
    return [
        f"Payouts:   {total} affiliates paid by PayPal ({created} new); {paid} past payouts "
        f"paid by this run, {approved} commissions approved for the next run; pay them with "
        "`manage.py run_payouts` (settings: /payouts/settings/)",
    ]
