"""Money columns of the daily rollups (tracking.DailyStat) from payments and entries."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from commissions.rollups import refresh_daily_money
from commissions.services import set_exchange_rate
from tests.commissions.conftest import pay
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


def test_refresh_writes_first_payments_revenue_and_commission_in_program_currency(affiliate):
    from tracking.models import DailyStat

    # given on 10 Nov a $40.00 first payment and a €10.00 first payment (1 EUR = 1.10 USD)
    set_exchange_rate(
        currency="EUR", rate=Decimal("1.10"), valid_from=datetime(2026, 1, 1, tzinfo=UTC)
    )
    day = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    pay(ReferralFactory(affiliate=affiliate), external_id="a", amount=4000, paid_at=day)
    pay(
        ReferralFactory(affiliate=affiliate),
        external_id="b",
        amount=1000,
        paid_at=day,
        currency="EUR",
    )

    # when the rollup refresh runs that evening
    rows = refresh_daily_money(now=datetime(2026, 11, 10, 23, 0, tzinfo=UTC))

    # then: 2 first payments; revenue 4000 + 1000 × 1.10 = 5100 US cents;
    # commission 2000 + €5.00 × 1.10 = 2000 + 550 = 2550 US cents
    stat = DailyStat.objects.get(affiliate=affiliate, day=day.date())
    assert rows == 1
    assert (stat.first_payments, stat.revenue, stat.commission) == (2, 5100, 2550)
