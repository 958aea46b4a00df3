"""Payout run benchmark: N affiliates with due balances → run time (no provider involved),
then sending through the local PayPal peer: provider calls, and time outside the provider.

    .venv/bin/python bench/payouts.py --affiliates 10000 [--stripe-share 0.0]

Uses a throw-away test database (SQLite in memory, or test_<name> on PostgreSQL when
DATABASE_URL is set), never the real one. Prints figures and ratios; no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

NOW = datetime(2026, 12, 1, 13, 7, tzinfo=UTC)
ENTRIES_PER_AFFILIATE = 3


def seed(n: int, stripe_share: float, stripe_account: str) -> None:
    from affiliates.models import Affiliate, User
    from commissions.models import CommissionEntry
    from payouts.models import PayoutAccount

    users = User.objects.bulk_create(
        [User(email=f"bench{i}@example.org", password="!") for i in range(n)], batch_size=5000
    )
    affiliates = Affiliate.objects.bulk_create(
        [
            Affiliate(user=u, username=f"bench{i}", status=Affiliate.Status.APPROVED)
            for i, u in enumerate(users)
        ],
        batch_size=5000,
    )
    stripe_n = int(n * stripe_share)
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    PayoutAccount.objects.bulk_create(
        [
            PayoutAccount(
                affiliate=a,
                method="stripe" if i < stripe_n else "paypal",
                paypal_email=f"bench{i}@example.org",
                paypal_confirmed_at=long_ago,
                stripe_account_id=stripe_account if i < stripe_n else "",
                stripe_payouts_enabled=True,
                details_changed_at=long_ago,
            )
            for i, a in enumerate(affiliates)
        ],
        batch_size=5000,
    )
    CommissionEntry.objects.bulk_create(
        [
            CommissionEntry(
                kind="recurring",
                affiliate=a,
                amount=2500 + (i % 7) * 100 - (300 if k == 2 else 0),
                currency="USD",
                source_type="admin",
                source_id=f"bench-{i}-{k}",
                rule="bench",
                state="approved",
                approve_after=NOW,
                created_at=NOW,
                approved_at=NOW,
            )
            for i, a in enumerate(affiliates)
            for k in range(ENTRIES_PER_AFFILIATE)
        ],
        batch_size=5000,
    )


class TimedClient:
    """Wraps a provider client to add up the time spent waiting on the provider."""

    def __init__(self, inner: object) -> None:
        self.inner, self.seconds, self.calls = inner, 0.0, 0

    def __getattr__(self, name: str):
        fn = getattr(self.inner, name)

        def timed(**kwargs):
            start = time.perf_counter()
            try:
                return fn(**kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        return timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--affiliates", type=int, default=10_000)
    parser.add_argument("--stripe-share", type=float, default=0.0, help="Fraction paid by Stripe.")
    args = parser.parse_args()

    from config import queue
    from devtools import peers
    from payouts import selectors, services
    from payouts.gateways.registry import get_paypal, get_stripe_connect
    from payouts.models import Payout, PayPalBatch

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    server = peers.start_in_thread()
    try:
        settings.PAYPAL_CLIENT_ID = settings.PAYPAL_CLIENT_SECRET = "bench"
        settings.PAYPAL_API_BASE = settings.STRIPE_CONNECT_API_BASE = server.base_url
        settings.STRIPE_CONNECT_SECRET_KEY = "sk_test_bench"
        settings.PAYOUT_REQUIRE_APPROVAL = False
        queue.enqueue_on_commit = lambda name, **kw: None  # the bench calls the senders itself
        stripe = get_stripe_connect()
        account = stripe.create_account(
            email="b@example.org", country="US", affiliate_public_id="b"
        )["id"]
        server.state.accounts[account]["payouts_enabled"] = True

        t0 = time.perf_counter()
        seed(args.affiliates, args.stripe_share, account)
        t_seed = time.perf_counter() - t0

        t0 = time.perf_counter()
        result = services.run_payouts(now=NOW)
        t_run = time.perf_counter() - t0

        paypal = TimedClient(get_paypal())
        stripe_timed = TimedClient(stripe)
        t0 = time.perf_counter()
        for batch_id in PayPalBatch.objects.values_list("pk", flat=True):
            services.send_paypal_batch(batch_id=batch_id, now=NOW, client=paypal)
            services.refresh_paypal_batch(batch_id=batch_id, now=NOW, client=paypal)
        for payout_id in Payout.objects.filter(method="stripe").values_list("pk", flat=True):
            services.send_stripe_payout(payout_id=payout_id, now=NOW, client=stripe_timed)
        t_send = time.perf_counter() - t0
        provider_wait = paypal.seconds + stripe_timed.seconds

        paid = Payout.objects.filter(state="paid").count()
        paypal_payouts = Payout.objects.filter(method="paypal").count()
        calls = server.state.summary()["calls"]
        batch_calls = calls.get("POST /v1/payments/payouts", 0)
        problems = selectors.ledger_problems()
    finally:
        server.shutdown()
        connection.creation.destroy_test_db(old_name, verbosity=0)

    n = args.affiliates
    print(f"database:                 {connection.vendor}")
    print(f"affiliates with balances: {n} ({ENTRIES_PER_AFFILIATE} approved entries each)")
    print(f"seed time:                {t_seed:.2f} s")
    print(
        f"payout run (no provider): {t_run:.2f} s  → {result.payouts} payouts, "
        f"{n / t_run:,.0f} affiliates/s  (goal ≤ 30 s for 10,000: {t_run / 30:.2%} of budget)"
    )
    print(
        f"send + poll total:        {t_send:.2f} s, of which waiting on the provider {provider_wait:.2f} s;"
        f" our side {t_send - provider_wait:.2f} s"
    )
    expected = -(-paypal_payouts // 15000)
    print(
        f"PayPal batch calls:       {batch_calls} for {paypal_payouts} PayPal payouts "
        f"(≤ 15,000 items per call → expected {expected})"
    )
    print(f"Stripe transfer calls:    {calls.get('POST /v1/transfers', 0)}")
    print(f"all provider calls:       {sum(calls.values())}  {dict(sorted(calls.items()))}")
    print(f"paid:                     {paid}/{result.payouts}; ledger problems: {len(problems)}")


if __name__ == "__main__":
    main()
