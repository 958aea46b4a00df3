"""The ledger has one QuerySet (commissions.querysets), and every way to reach entries
returns it: none lets a bulk `.update()` change money or a `.delete()` remove a row."""

import pytest
from django.db import transaction

from commissions import selectors
from commissions.models import CommissionEntry, LedgerImmutableError, Payment
from commissions.querysets import CommissionEntryQuerySet
from tests.factories import FIXED_NOW, CommissionEntryFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def _entry_of_a_payment(**fields):
    referral = ReferralFactory()
    payment = Payment.objects.create(
        provider="api",
        external_id="pay_1",
        referral=referral,
        customer_id=referral.customer_id,
        amount=5000,
        currency="USD",
        paid_at=FIXED_NOW,
        is_first=True,
    )
    return CommissionEntryFactory(
        affiliate=referral.affiliate, payment=payment, source_type="payment", **fields
    )


def _every_way_to_the_entries(entry):
    payment, affiliate = entry.payment, entry.affiliate
    return {
        "objects": CommissionEntry.objects.all(),
        "objects.filter": CommissionEntry.objects.filter(pk=entry.pk),
        "default manager": CommissionEntry._default_manager.all(),
        "base manager": CommissionEntry._base_manager.all(),
        "payment.entries": payment.entries.all(),
        "affiliate.commission_entries": affiliate.commission_entries.all(),
        "selectors.list_entries": selectors.list_entries(affiliate_id=affiliate.pk),
        "values()": CommissionEntry.objects.filter(pk=entry.pk).values("pk"),
        "for_affiliate().in_balance()": CommissionEntry.objects.for_affiliate(
            affiliate.pk
        ).in_balance(),
    }


def test_every_way_to_the_entries_is_the_one_guarded_queryset():
    entry = _entry_of_a_payment()

    for how, queryset in _every_way_to_the_entries(entry).items():
        assert isinstance(queryset, CommissionEntryQuerySet), how
        assert list(queryset.values_list("pk", flat=True)) == [entry.pk], how


def test_no_way_to_the_entries_changes_an_amount_or_deletes():
    # given an entry of 1000, reachable through its payment and its affiliate
    entry = _entry_of_a_payment(amount=1000)

    # when code bulk-changes its amount or deletes it through each of them
    allowed = []
    for how, queryset in _every_way_to_the_entries(entry).items():
        for what, attempt in (
            ("update(amount=…)", lambda qs=queryset: qs.update(amount=1)),
            ("delete()", queryset.delete),
        ):
            try:
                attempt()
            except LedgerImmutableError:
                continue
            allowed.append(f"{how}.{what}")

    # then every one is refused (and so are the other bulk writes)
    assert allowed == []
    with pytest.raises(LedgerImmutableError), transaction.atomic():
        CommissionEntry.objects.select_for_update().filter(pk=entry.pk).update(amount=1)
    entry.amount = 1
    # (Django runs these two in the caller's transaction, which the refusal then breaks.)
    with pytest.raises(LedgerImmutableError), transaction.atomic():
        CommissionEntry.objects.bulk_update([entry], ["amount"])
    with pytest.raises(LedgerImmutableError), transaction.atomic():
        entry.payment.entries.clear()  # would unlink the entry from its payment

    # and the row is as it was
    assert CommissionEntry.objects.filter(
        pk=entry.pk, amount=1000, payment=entry.payment_id
    ).exists()
