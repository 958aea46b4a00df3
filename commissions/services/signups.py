"""Signup bounties (one per attributed referral, with a sweeper for lost tasks) and the
plan changes subscription events report."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast

from commissions import referral_stats, rules
from commissions.models import CommissionEntry, PlanChange
from commissions.services.ledger import insert_entries
from tracking.models import Referral

logger = logging.getLogger(__name__)


def record_signup_commission(*, referral_id: int, now: datetime) -> CommissionEntry | None:
    """The signup bounty for a new attribution (idempotent: one per referral)."""
    referral = Referral.objects.select_related("affiliate").filter(pk=referral_id).first()
    if referral is None:
        return None
    entry = rules.signup_entry(referral=referral, now=now)
    if entry is None:
        return None
    insert_entries(entries=[entry])
    return CommissionEntry.objects.get(
        source_type=entry.source_type,
        source_id=entry.source_id,
        kind=entry.kind,
        affiliate_id=entry.affiliate_id,
    )


def write_missing_signup_entries(*, now: datetime, limit: int = 1000) -> int:
    """Sweeper: referrals whose signup task was lost get their bounty now."""
    has_entry = CommissionEntry.objects.filter(
        source_type=CommissionEntry.SourceType.SIGNUP,
        kind=CommissionEntry.Kind.SIGNUP,
        source_id=Cast(OuterRef("pk"), output_field=CharField()),
    )
    missing = (
        Referral.objects.filter(affiliate__isnull=False)
        .filter(~Exists(has_entry))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    written = 0
    no_default_plan = ""
    for referral_id in list(missing):
        try:
            entry = record_signup_commission(referral_id=referral_id, now=now)
        except rules.NoDefaultPlan as exc:
            # Retried on every sweep until an admin marks a plan default; the others go on.
            no_default_plan = str(exc)
            continue
        if entry is not None:
            written += 1
    if no_default_plan:
        logger.error("Signup bounties wait: %s", no_default_plan)
    return written


def record_plan_change(
    *,
    event_id: str,
    referral: Referral,
    subscription_id: str,
    product_plan: str,
    status: str,
    changed_at: datetime,
) -> None:
    """Record the plan a subscription event reported, once per event id (a repeat is
    ignored by the unique event_id: one INSERT … ON CONFLICT DO NOTHING). The referral's
    summary is marked due in the caller's transaction (stage two's, per event)."""
    referral_stats.mark_referrals(referral_ids=[referral.pk])
    PlanChange.objects.bulk_create(
        [
            PlanChange(
                event_id=event_id,
                referral=referral,
                subscription_id=subscription_id,
                product_plan=product_plan[:120],
                status=status[:32],
                changed_at=changed_at,
            )
        ],
        ignore_conflicts=True,
    )
