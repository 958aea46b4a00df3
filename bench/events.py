"""Stage-two benchmark: N stored Stripe events → `process_pending_events` → events/s
(goal ≥ 1,000).

    [DATABASE_URL=postgres://…] .venv/bin/python bench/events.py [--events 50000]
        [--referred-share 0.3]

The store holds what a Stripe account sends: per customer `customer.created`, then each
month `invoice.paid` and its twin `invoice.payment_succeeded` (real Stripe sends both) and
a `customer.subscription.updated`, and a `charge.refunded` for ~5 % of invoices.
`--referred-share` of the customers were referred (the rest are stored and skipped).
Uses a throw-away database (SQLite in memory, or bench_<name> on PostgreSQL), never the
real one. Prints figures; no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def build_events(n: int, referred_share: float, rng: random.Random):
    """(events, referred stripe customer ids)."""
    events: list[dict] = []
    referred: list[str] = []
    c = 0
    while len(events) < n:
        cus = f"cus_bench{c}"
        if rng.random() < referred_share:
            referred.append(cus)
        t0 = START + timedelta(minutes=c)
        ts = int(t0.timestamp())
        events.append(
            {
                "id": f"evt_c{c}",
                "type": "customer.created",
                "created": ts,
                "data": {"object": {"id": cus, "metadata": {}}},
            }
        )
        price, plan = rng.choice([(1000, "Starter"), (4000, "Pro"), (9900, "Business")])
        for m in range(rng.randint(1, 10)):
            paid = ts + m * 30 * 86400 + 60
            inv = {
                "id": f"in_{c}_{m}",
                "object": "invoice",
                "customer": cus,
                "amount_paid": price,
                "tax": 0,
                "currency": "usd",
                "status": "paid",
                "subscription": f"sub_{c}",
                "charge": f"ch_{c}_{m}",
                "status_transitions": {"paid_at": paid},
                "lines": {"data": [{"plan": {"id": plan.lower(), "nickname": plan}}]},
            }
            events.append(
                {
                    "id": f"evt_ip{c}_{m}",
                    "type": "invoice.paid",
                    "created": paid,
                    "data": {"object": inv},
                }
            )
            events.append(
                {
                    "id": f"evt_is{c}_{m}",
                    "type": "invoice.payment_succeeded",
                    "created": paid,
                    "data": {"object": inv},
                }
            )
            events.append(
                {
                    "id": f"evt_su{c}_{m}",
                    "type": "customer.subscription.updated",
                    "created": paid + 1,
                    "data": {
                        "object": {
                            "id": f"sub_{c}",
                            "customer": cus,
                            "status": "active",
                            "plan": {"id": plan.lower(), "nickname": plan},
                        }
                    },
                }
            )
            if rng.random() < 0.05:
                events.append(
                    {
                        "id": f"evt_r{c}_{m}",
                        "type": "charge.refunded",
                        "created": paid + 86400,
                        "data": {
                            "object": {
                                "id": f"ch_{c}_{m}",
                                "currency": "usd",
                                "amount_refunded": price,
                                "refunds": {
                                    "data": [
                                        {
                                            "id": f"re_{c}_{m}",
                                            "amount": price,
                                            "charge": f"ch_{c}_{m}",
                                            "status": "succeeded",
                                            "created": paid + 86400,
                                        }
                                    ]
                                },
                            }
                        },
                    }
                )
        c += 1
    return events[:n], referred


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--referred-share", type=float, default=0.3)
    args = parser.parse_args()
    setup_test_environment(debug=False)
    db = settings.DATABASES["default"]
    if settings.IS_POSTGRES:
        db["TEST"]["NAME"] = f"bench_{db['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from affiliates.models import Affiliate, User
        from commissions.ingest import process_pending_events
        from commissions.models import CommissionEntry, Payment, StoredEvent
        from tests.factories import default_plan_with_tiers
        from tracking.models import Referral

        rng = random.Random(5)
        default_plan_with_tiers()
        events, referred = build_events(args.events, args.referred_share, rng)
        users = User.objects.bulk_create(
            [User(email=f"bench{i}@example.org", password="!") for i in range(100)]
        )
        affiliates = Affiliate.objects.bulk_create(
            [
                Affiliate(user=u, username=f"bench{i}", status="approved")
                for i, u in enumerate(users)
            ]
        )
        Referral.objects.bulk_create(
            [
                Referral(
                    customer_id=f"acct-{cus}",
                    stripe_customer_id=cus,
                    affiliate=affiliates[i % len(affiliates)],
                    source="cookie",
                    created_at=START,
                )
                for i, cus in enumerate(referred)
            ],
            batch_size=5000,
        )
        StoredEvent.objects.bulk_create(
            [
                StoredEvent(
                    provider="stripe",
                    event_id=e["id"],
                    type=e["type"],
                    via="sync",
                    created=datetime.fromtimestamp(e["created"], tz=UTC),
                    payload=e,
                    received_at=NOW,
                )
                for e in events
            ],
            batch_size=5000,
        )
        print(
            f"stored {len(events):,} events for {len(referred):,} referred customers "
            f"({args.referred_share:.0%}) on {connection.vendor}"
        )

        t = time.perf_counter()
        counts = process_pending_events(now=NOW)
        elapsed = time.perf_counter() - t
        total = sum(counts.values())
        print(f"stage two            : {elapsed:8.2f} s for {total:,} events")
        print(f"throughput           : {total / elapsed:8,.0f} events/s  (goal ≥ 1,000)")
        print(f"outcomes             : {dict(sorted(counts.items()))}")
        print(
            f"rows                 : {Payment.objects.count():,} payments, "
            f"{CommissionEntry.objects.count():,} entries"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
