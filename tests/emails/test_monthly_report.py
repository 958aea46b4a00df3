"""The monthly report for a seeded affiliate: last month's clicks, signups, upgrades,
earnings, tier and leaderboard, in English and in German; sent once per month."""

from datetime import UTC, date, datetime

import pytest

from commissions.prize_models import Contest, PrizeAward, PrizeRound
from emails.services import month_before, send_monthly_reports
from tests.factories import AffiliateFactory, CommissionEntryFactory, default_plan_with_tiers
from tracking.models import DailyStat

MONTH = date(2026, 10, 1)
NOW = datetime(2026, 11, 2, 9, 17, tzinfo=UTC)


def seed(language: str):
    default_plan_with_tiers()
    nora = AffiliateFactory(username="nora", language=language, leaderboard_opt_in=True)
    lena = AffiliateFactory(username="lena", leaderboard_opt_in=True)
    for day, clicks, signups, first in ((3, 120, 4, 1), (20, 80, 1, 1)):
        DailyStat.objects.create(
            affiliate=nora,
            day=date(2026, 10, day),
            clicks=clicks,
            signups=signups,
            first_payments=first,
        )
    DailyStat.objects.create(affiliate=nora, day=date(2026, 11, 1), clicks=999)  # not October
    for day, amount in ((5, 2500), (28, 1250)):
        CommissionEntryFactory(
            affiliate=nora,
            amount=amount,
            currency="USD",
            created_at=datetime(2026, 10, day, 12, tzinfo=UTC),
        )
    prize_round = PrizeRound.objects.create(month=MONTH, contest=Contest.AFFILIATES)
    for rank, who, revenue in ((1, lena, 250000), (2, nora, 120000)):
        PrizeAward.objects.create(
            round=prize_round,
            month=MONTH,
            contest=Contest.AFFILIATES,
            rank=rank,
            affiliate=who,
            revenue=revenue,
            first_paid_at=NOW,
            amount=10000 // rank,
            currency="USD",
            awarded_at=NOW,
        )
    return nora


def test_the_report_month_is_the_one_before():
    assert month_before(date(2026, 11, 2)) == MONTH
    assert month_before(date(2027, 1, 2)) == date(2026, 12, 1)


@pytest.mark.django_db(transaction=True)
def test_the_report_in_english(mailoutbox):
    nora = seed("en")

    send_monthly_reports(month=MONTH, now=NOW)

    (mail,) = [m for m in mailoutbox if m.to == [nora.user.email]]
    assert mail.subject == "Ambassador: your report for October 2026"
    body = mail.body
    assert "Clicks: 200" in body  # 120 + 80; November's 999 left out
    assert "Signups: 5" in body  # 4 + 1
    assert "Upgrades to paid: 2" in body  # 1 + 1
    assert "Earned: USD 37.50" in body  # 2,500 + 1,250 = 3,750 cents
    assert "Your tier this month: tier 1 of the" in body  # no sales in October: tier 1
    assert "  1. lena: USD 2,500.00" in body  # 250,000 cents
    assert "  2. You (nora): USD 1,200.00" in body  # 120,000 cents
    assert "Your place: 2" in body
    assert "/emails/unsubscribe/" in body and "List-Unsubscribe" in mail.extra_headers


@pytest.mark.django_db(transaction=True)
def test_the_report_in_german(mailoutbox):
    nora = seed("de")

    send_monthly_reports(month=MONTH, now=NOW)

    (mail,) = [m for m in mailoutbox if m.to == [nora.user.email]]
    body = mail.body
    # Django's own German month name, and money written the German way.
    assert "Oktober 2026" in mail.subject and "Oktober 2026" in body
    assert "37,50\u00a0USD" in body  # 3,750 cents
    assert "2.500,00\u00a0USD" in body  # lena's 250,000 cents
    assert " 200\n" in body and " 5\n" in body and " 2\n" in body
    assert "October" not in body


@pytest.mark.django_db(transaction=True)
def test_sent_once_per_month_and_not_to_who_turned_it_off(mailoutbox):
    nora = seed("en")
    AffiliateFactory(email_monthly_report=False)

    first = send_monthly_reports(month=MONTH, now=NOW)
    second = send_monthly_reports(month=MONTH, now=NOW)

    assert (first, second) == (2, 0)  # nora and lena; the third turned it off
    lena = PrizeAward.objects.get(rank=1).affiliate
    assert sorted(m.to[0] for m in mailoutbox) == sorted([nora.user.email, lena.user.email])
