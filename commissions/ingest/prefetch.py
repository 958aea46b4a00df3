"""Batch reads for stage two: what a batch's events will ask one by one, read up front in a
few queries and put in the run's cache (referrals by Stripe customer, and the payment memo
of commissions.rules). Only an optimisation — whatever is missed here is read on demand —
so a prefetch that fails costs speed, not correctness (the pipeline runs it in a savepoint
and drops what it learnt)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from commissions import rules
from commissions.ingest.customers import CUSTOMER_SCOPED
from commissions.ingest.payload import as_dict, loose_object, stripe_id, to_datetime
from commissions.models import Payment, StoredEvent, StripeCustomerLink
from tracking.models import Referral


def prefetch_referrals(batch: list[StoredEvent], cache: dict) -> None:
    """Resolve the batch's Stripe customers in two queries instead of one per customer."""
    wanted = set()
    for event in batch:
        if event.provider == StoredEvent.Provider.STRIPE and event.type in CUSTOMER_SCOPED:
            customer = stripe_id(loose_object(event).get("customer"))
            if customer and ("referral", customer) not in cache:
                wanted.add(customer)
    if not wanted:
        return
    found = {
        r.stripe_customer_id: r
        for r in Referral.objects.select_related("affiliate", "employee").filter(
            stripe_customer_id__in=wanted
        )
    }
    links = dict(
        StripeCustomerLink.objects.filter(stripe_customer_id__in=wanted - set(found)).values_list(
            "stripe_customer_id", "customer_id"
        )
    )
    by_customer_id = {
        r.customer_id: r
        for r in Referral.objects.select_related("affiliate", "employee").filter(
            customer_id__in=set(links.values())
        )
    }
    # Customers whose events name an ambassador_customer_id in their metadata.
    with_metadata = {
        stripe_id(loose_object(event).get("customer"))
        for event in batch
        if event.provider == StoredEvent.Provider.STRIPE
        and event.type in CUSTOMER_SCOPED
        and as_dict(loose_object(event).get("metadata")).get("ambassador_customer_id")
    }
    for customer in wanted:
        referral = found.get(customer) or by_customer_id.get(links.get(customer, ""))
        if referral is None:
            if customer in with_metadata:
                continue  # unknown here: metadata on the object may still name it
            # Nobody referred them (no referral, no link, no metadata): what
            # referral_for_stripe_customer would find and keep, without its two queries.
            cache[("referral", customer)] = None
            continue
        if referral.affiliate_id is None and referral.employee_id is None:
            referral = None
        cache[("referral", customer)] = referral


def prefetch_payments(batch: list[StoredEvent], cache: dict) -> None:
    """Start the batch's payment memo (rules.PaymentMemo) with what its referred invoices
    will ask: whether each invoice is stored already, the customers' payments, and the
    earners' previous-month sales — three queries for the batch instead of four per
    payment. Whatever is missed here is read on demand."""
    memo = rules.start_payment_memo(cache)
    invoices: list[tuple[dict, Referral, datetime]] = []
    for event in batch:
        if event.provider == StoredEvent.Provider.STRIPE and event.type.startswith("invoice."):
            obj = loose_object(event)
            referral = cache.get(("referral", stripe_id(obj.get("customer"))))
            if referral is not None and stripe_id(obj.get("id")):
                try:
                    paid_at = to_datetime(
                        as_dict(obj.get("status_transitions")).get("paid_at"), event.created
                    )
                except (TypeError, ValueError, OverflowError, OSError):
                    continue  # its handler reports it
                invoices.append((obj, referral, paid_at))
    if not invoices:
        return
    external_ids = {str(obj["id"]) for obj, _, _ in invoices}
    stored = {
        p.external_id: p
        for p in Payment.objects.filter(
            provider=StoredEvent.Provider.STRIPE, external_id__in=external_ids
        )
    }
    for external_id in external_ids:
        memo.existing[(StoredEvent.Provider.STRIPE, external_id)] = stored.get(external_id)
    referral_ids = {referral.pk for _, referral, _ in invoices}
    for referral_id in referral_ids:
        memo.by_referral[referral_id] = []
    for row in Payment.objects.filter(referral_id__in=referral_ids).values_list(
        "referral_id", "pk", "paid_at", "external_id", "product_plan"
    ):
        memo.by_referral[row[0]].append(rules.KnownPayment(*row[1:]))
    wanted = {
        (affiliate_id, rules.previous_month(paid_at)[0])
        for _, referral, paid_at in invoices
        for affiliate_id in (referral.affiliate_id, referral.employee_id)
        if affiliate_id is not None
    }
    affiliate_ids = {affiliate_id for affiliate_id, _ in wanted}
    months = {month for _, month in wanted}
    rows = (
        Payment.objects.filter(
            Q(referral__affiliate_id__in=affiliate_ids)
            | Q(referral__employee_id__in=affiliate_ids),
            paid_at__gte=min(months),
            paid_at__lt=rules.add_months(max(months), 1),
        )
        .annotate(month=TruncMonth("paid_at", tzinfo=UTC))
        .values_list("referral__affiliate_id", "referral__employee_id", "month")
        .annotate(total=Sum("program_amount"))
        .order_by()
    )
    sales = dict.fromkeys(wanted, 0)
    for affiliate_id, employee_id, month, total in rows:
        # Once per affiliate, as previous_month_sales' OR counts it.
        for earner in {affiliate_id, employee_id} - {None}:
            if (earner, month) in sales:
                sales[(earner, month)] += total or 0
    memo.sales.update(sales)
