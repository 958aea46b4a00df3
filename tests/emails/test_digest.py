"""The daily digest: one e-mail per affiliate per day with that day's new entries, their
count and totals per currency; never a second one for the same day."""

from datetime import UTC, date, datetime

import pytest

from commissions.models import CommissionEntry
from emails.models import SentEmail
from emails.services import send_commission_digests
from tests.factories import AffiliateFactory, CommissionEntryFactory

DAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 3, 6, 17, tzinfo=UTC)


def at(hour: int, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def seeded(db):
    nora = AffiliateFactory(username="nora")
    lena = AffiliateFactory(username="lena", language="de")
    quiet = AffiliateFactory(email_commission_digest=False)
    kind = CommissionEntry.Kind
    for hour, amount, currency in ((1, 500, "USD"), (9, 2400, "USD"), (23, 1800, "EUR")):
        CommissionEntryFactory(
            affiliate=nora,
            kind=kind.RECURRING,
            amount=amount,
            currency=currency,
            created_at=at(hour),
        )
    CommissionEntryFactory(affiliate=nora, amount=9999, created_at=at(0, day=3))  # next day
    CommissionEntryFactory(affiliate=nora, amount=7777, created_at=at(23, day=1))  # day before
    CommissionEntryFactory(
        affiliate=lena, amount=-300, currency="EUR", kind=kind.CLAWBACK, created_at=at(12)
    )
    CommissionEntryFactory(affiliate=quiet, amount=100, created_at=at(12))
    return nora, lena, quiet


@pytest.mark.django_db(transaction=True)
def test_one_digest_per_affiliate_with_the_days_count_and_totals(seeded, mailoutbox):
    nora, lena, _quiet = seeded

    sent = send_commission_digests(day=DAY, now=NOW)

    assert sent == 2  # the affiliate who turned it off gets none
    by_to = {m.to[0]: m for m in mailoutbox}
    assert set(by_to) == {nora.user.email, lena.user.email}
    mine = by_to[nora.user.email]
    assert mine.subject == "Ambassador: 3 new commissions"
    # USD 5.00 + 24.00 = 29.00; EUR 18.00; the entries of Nov 1 and Nov 3 are not listed.
    assert "Total: EUR 18.00; USD 29.00" in mine.body
    assert mine.body.count("\n- Recurring payment: ") == 3
    assert "99.99" not in mine.body and "77.77" not in mine.body
    assert "USD 29.00" in mine.alternatives[0][0]
    # Lena reads German money: EUR -3.00 as "-3,00 EUR".
    lena_mail = by_to[lena.user.email]
    assert lena_mail.subject.startswith("Ambassador: 1 ")
    assert "-3,00\u00a0EUR" in lena_mail.body


@pytest.mark.django_db(transaction=True)
def test_running_twice_sends_nothing_more(seeded, mailoutbox):
    send_commission_digests(day=DAY, now=NOW)

    again = send_commission_digests(day=DAY, now=NOW)

    assert again == 0 and len(mailoutbox) == 2
    assert SentEmail.objects.filter(name="commission_digest", period="2026-11-02").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_day_without_entries_sends_nothing(seeded, mailoutbox):
    assert send_commission_digests(day=date(2026, 10, 15), now=NOW) == 0
    assert mailoutbox == []
