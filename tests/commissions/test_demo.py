"""commissions/demo.py: deterministic demo payments, idempotent."""

import importlib
import random
from datetime import UTC, datetime

import pytest

from commissions.models import CommissionEntry, Payment
from tests.factories import AffiliateFactory, ReferralFactory

pytestmark = pytest.mark.django_db
DEMO_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_demo_seed_is_idempotent(default_plan):
    from commissions import demo
    from commissions.selectors import ledger_violations

    for i in range(12):
        ReferralFactory(
            affiliate=AffiliateFactory(),
            customer_id=f"demo-cust-{i}",
            created_at=datetime(2026, 6, 1, tzinfo=UTC),
        )

    demo.seed(now=DEMO_NOW, rng=random.Random(1))
    first = (Payment.objects.count(), CommissionEntry.objects.count())
    lines = demo.seed(now=DEMO_NOW, rng=random.Random(2))

    assert first[0] > 0
    assert (Payment.objects.count(), CommissionEntry.objects.count()) == first
    assert lines and "payments" in lines[0]
    assert ledger_violations(now=DEMO_NOW) == []


def test_demo_runs_after_the_other_apps_demos():
    # The seed order is affiliates → tracking → commissions; run what exists.
    for app in ("affiliates", "tracking", "commissions"):
        try:
            module = importlib.import_module(f"{app}.demo")
        except ModuleNotFoundError:
            continue
        module.seed(now=DEMO_NOW, rng=random.Random(20261102))
    from commissions import demo

    demo.seed(now=DEMO_NOW, rng=random.Random(20261102))
