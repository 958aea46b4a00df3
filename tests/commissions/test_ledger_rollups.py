"""The ledger's daily rollup (commissions.LedgerDay, commissions.ledger_rollups): after every
kind of write (an entry inserted, declined, approved by the job, paid by a payout, clawed
back by a refund) the rollup read equals a fresh sum of the ledger for the same window,
before the sweep (the marked days read live) and after it (rollup rows only)."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from commissions.ledger_rollups import (
    ledger_sums,
    refresh_ledger_days,
    stamp_unstamped,
)
from commissions.models import CommissionEntry, LedgerDay, LedgerDayDue
from commissions.services import approve_due_commissions, insert_entries, record_refund
from payouts import services as payouts
from payouts.models import Payout
from tests.commissions.conftest import pay
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db

E = CommissionEntry
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _fresh(affiliate_id=None, start=None, end=None):
    """{(day, currency, state): (amount, count)} summed from the entries themselves, each on
    its earning day computed here from the payment / referral, not from earned_on."""
    from tracking.models import Referral

    out = defaultdict(lambda: [0, 0])
    qs = E.objects.select_related("payment")
    if affiliate_id is not None:
        qs = qs.filter(affiliate_id=affiliate_id)
    for e in qs:
        if e.payment_id:
            day = e.payment.paid_at.astimezone(UTC).date()
        elif e.source_type == E.SourceType.SIGNUP:
            day = Referral.objects.get(pk=int(e.source_id)).created_at.astimezone(UTC).date()
        else:
            day = e.created_at.astimezone(UTC).date()
        if (start is None or day >= start) and (end is None or day <= end):
            out[(day, e.currency, e.state)][0] += e.amount
            out[(day, e.currency, e.state)][1] += 1
    return {k: tuple(v) for k, v in out.items()}


def _read(**kw):
    out = defaultdict(lambda: [0, 0])
    for row in ledger_sums(by_day=True, **kw):
        out[(row.day, row.currency, row.state)][0] += row.amount
        out[(row.day, row.currency, row.state)][1] += row.entries
    return {k: tuple(v) for k, v in out.items() if v != [0, 0]}


def _rolled():
    return {
        (r.day, r.currency, r.state): (r.amount, r.entries)
        for r in LedgerDay.objects.filter(entries__gt=0)
    }


def _agrees(affiliate_id, window=None):
    """The read equals the fresh sum, before and after the sweep; after it the rollup rows
    alone do too (nothing left marked)."""
    start, end = window or (None, None)
    kw = {"affiliate_id": affiliate_id, "start": start, "end": end}
    assert _read(**kw) == _fresh(**kw)
    refresh_ledger_days()
    assert not LedgerDayDue.objects.exists()
    assert _read(**kw) == _fresh(**kw)
    assert _rolled() == _fresh()


def test_the_rollup_follows_inserts_approval_refund_decline_and_payout(affiliate):
    referral = ReferralFactory(affiliate=affiliate)
    day_a = NOW - timedelta(days=40)  # 10 Oct
    day_b = NOW - timedelta(days=35)  # 15 Oct
    day_c = NOW - timedelta(days=2)  # 18 Nov
    # Inserts, one customer: a $100.00 first payment → 50 % = 5000 pending on its paid day;
    # $60.00 and $20.00 renewals → 20 % = 1200 and 400 pending on theirs.
    a = pay(referral, external_id="a", amount=10_000, paid_at=day_a, now=NOW)
    pay(referral, external_id="b", amount=6000, paid_at=day_b, now=NOW)
    c = pay(referral, external_id="c", amount=2000, paid_at=day_c, now=NOW)
    assert _read(affiliate_id=affiliate.pk)[(day_a.date(), "USD", E.State.PENDING)][0] == 5000
    _agrees(affiliate.pk)

    # The approval job (hold over for a and b, not for c): 5000 + 1200 = 6200 approved.
    approve_due_commissions(now=NOW + timedelta(days=1), notify=False)
    approved = _read(affiliate_id=affiliate.pk)
    assert approved[(day_a.date(), "USD", E.State.APPROVED)] == (5000, 1)
    assert approved[(day_b.date(), "USD", E.State.APPROVED)] == (1200, 1)
    _agrees(affiliate.pk)

    # A $40.00 refund of a today: a clawback of 50 % × 4000 = −2000 on a's day (10 Oct),
    # so that day nets 5000 − 2000 = 3000; c refunded in full: its 400 declined.
    record_refund(
        provider="api",
        external_id="re_a",
        payment_ref=a.external_id,
        amount=4000,
        currency="USD",
        refunded_at=NOW,
        now=NOW,
    )
    record_refund(
        provider="api",
        external_id="re_c",
        payment_ref=c.external_id,
        amount=2000,
        currency="USD",
        refunded_at=NOW,
        now=NOW,
    )
    refunded = _read(affiliate_id=affiliate.pk)
    assert sum(v[0] for (d, _, s), v in refunded.items() if d == day_a.date()) == 3000
    assert refunded[(day_c.date(), "USD", E.State.DECLINED)] == (400, 1)
    _agrees(affiliate.pk)

    # A payout of everything approved: 5000 − 2000 (the clawback is approved with its
    # approved entry) + 1200 = 4200, marked paid by hand: in payout, then paid.
    affiliate.payout_threshold = 1000
    affiliate.save(update_fields=["payout_threshold"])
    PayoutAccountFactory(affiliate=affiliate, method="manual", bank_details="IBAN X")
    payouts.run_payouts(now=NOW + timedelta(days=2))
    _agrees(affiliate.pk)
    payout = Payout.objects.get()
    payouts.mark_paid_manually(
        payout_ids=[payout.pk], reference="BANK-1", actor=None, now=NOW + timedelta(days=2)
    )
    paid = _read(affiliate_id=affiliate.pk)
    assert paid[(day_a.date(), "USD", E.State.PAID)] == (3000, 2)
    assert paid[(day_b.date(), "USD", E.State.PAID)] == (1200, 1)
    assert payout.amount == 4200
    # A window of 12–20 Oct holds only b's day; the program-wide read agrees as well.
    _agrees(affiliate.pk, (date(2026, 10, 12), date(2026, 10, 20)))
    _agrees(None, (date(2026, 10, 1), date(2026, 11, 30)))


def test_a_write_without_a_sweep_is_marked_and_read_live_until_the_sweep_rolls_it(affiliate):
    entry = E(
        kind=E.Kind.ADJUSTMENT,
        affiliate=affiliate,
        amount=1234,
        currency="EUR",
        source_type=E.SourceType.ADMIN,
        source_id="adj-1",
        rule="adjustment",
        approve_after=NOW,
        created_at=NOW,
    )
    insert_entries(entries=[entry])

    # not swept: marked (affiliate, 20 Nov), no rollup row, yet the read has it (live)
    assert list(LedgerDayDue.objects.values_list("affiliate_id", "day")) == [
        (affiliate.pk, NOW.date())
    ]
    assert not LedgerDay.objects.exists()
    assert _read(affiliate_id=affiliate.pk) == {(NOW.date(), "EUR", E.State.PENDING): (1234, 1)}

    # the sweep writes the row and clears the mark; the read is the same from the rollup
    assert refresh_ledger_days() == 1
    row = LedgerDay.objects.get()
    assert (row.day, row.currency, row.state, row.amount, row.entries) == (
        NOW.date(),
        "EUR",
        E.State.PENDING,
        1234,
        1,
    )
    assert not LedgerDayDue.objects.exists()
    assert _read(affiliate_id=affiliate.pk) == {(NOW.date(), "EUR", E.State.PENDING): (1234, 1)}


def test_rows_written_around_insert_entries_are_stamped_by_the_sweep_with_the_rule(affiliate):
    # given, bulk-written without earned_on: an entry of a payment paid 3 Nov (processed
    # 5 Nov), a signup bounty of a referral that signed up 1 Nov (written 4 Nov), and an
    # adjustment written 6 Nov
    at = lambda d: datetime(2026, 11, d, 12, tzinfo=UTC)  # noqa: E731
    payment = pay(ReferralFactory(affiliate=affiliate), external_id="p", amount=1000, paid_at=at(3))
    signed_up = ReferralFactory(affiliate=affiliate, created_at=at(1))
    base = {"affiliate": affiliate, "currency": "USD", "rule": "r", "approve_after": at(6)}
    E.objects.bulk_create(
        [
            E(kind=E.Kind.PLAN_BONUS, amount=700, source_type="payment", source_id="x",
              payment=payment, created_at=at(5), **base),
            E(kind=E.Kind.SIGNUP, amount=25, source_type="signup",
              source_id=str(signed_up.pk), created_at=at(4), **base),
            E(kind=E.Kind.ADJUSTMENT, amount=300, source_type="admin", source_id="adj",
              created_at=at(6), **base),
        ]
    )  # fmt: skip

    # all time reads them live even before the stamp (counted on no day yet)
    assert sum(r.amount for r in ledger_sums(affiliate_id=affiliate.pk)) == 500 + 700 + 25 + 300
    assert stamp_unstamped() == 3
    days = dict(E.objects.values_list("amount", "earned_on"))
    assert (days[700], days[25], days[300]) == (date(2026, 11, 3), date(2026, 11, 1), at(6).date())
    _agrees(affiliate.pk, (date(2026, 11, 1), date(2026, 11, 30)))


def test_the_approval_job_marks_each_pair_once_per_batch():
    # given 30 pending entries of one affiliate earned on 2 days, and 5 of another on 1 day
    alice, bob = AffiliateFactory(), AffiliateFactory()
    for i in range(30):
        CommissionEntryFactory(affiliate=alice, created_at=NOW - timedelta(days=i % 2))
    for _ in range(5):
        CommissionEntryFactory(affiliate=bob, created_at=NOW)
    refresh_ledger_days()

    approve_due_commissions(now=NOW + timedelta(days=31), notify=False)

    # then one mark per (affiliate, day) of the batch: 2 for alice, 1 for bob — not 35
    marks = list(LedgerDayDue.objects.values_list("affiliate_id", "day"))
    assert sorted(marks) == sorted(
        [(alice.pk, NOW.date()), (alice.pk, NOW.date() - timedelta(days=1)), (bob.pk, NOW.date())]
    )
    refresh_ledger_days()
    assert sum(r.amount for r in ledger_sums() if r.state == E.State.APPROVED) == 35 * 1000
