"""Demo payout accounts for seed_demo (deterministic, idempotent): every demo affiliate gets
a confirmed PayPal account at its own e-mail, set up long before the demo clock, so
`manage.py run_payouts --now …` pays them through the local PayPal peer of `make run`."""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from affiliates.models import Affiliate
from payouts.models import PayoutAccount


def seed(*, now: datetime, rng: Random) -> list[str]:
    set_up_at = now - timedelta(days=90)  # well past the 48 h hold
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
    total = PayoutAccount.objects.count()
    return [
        f"Payouts:   {total} affiliates paid by PayPal ({created} new); pay them with "
        "`manage.py run_payouts --now 2026-12-01T13:07:00Z` (settings: /payouts/settings/)",
    ]
