"""Celery entry points of the periodic e-mails (beat: config/celery.py). Safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from affiliates.models import Affiliate, Plan
from emails import notices, services


@shared_task(name="emails.send_commission_digests")
def send_commission_digests_task() -> int:
    """Yesterday's digest (the UTC day that just ended)."""
    now = timezone.now()
    return services.send_commission_digests(day=now.date() - timedelta(days=1), now=now)


@shared_task(name="emails.send_monthly_reports")
def send_monthly_reports_task() -> int:
    """Last month's report."""
    now = timezone.now()
    return services.send_monthly_reports(month=services.month_before(now.date()), now=now)


@shared_task(name="emails.notify_dispute")
def notify_dispute_task(dispute_id: int) -> int:
    """Program managers told of a dispute opened or closed (commissions.services.reversals)."""
    return notices.notify_dispute(dispute_id=dispute_id)


@shared_task(name="emails.notify_plan_changed")
def notify_plan_changed_task(affiliate_id: int) -> bool:
    """The affiliate's plan or fixed rate changed in admin (affiliates.admin)."""
    affiliate = Affiliate.objects.select_related("user", "plan").filter(pk=affiliate_id).first()
    return affiliate is not None and notices.notify_plan_changed(affiliate=affiliate)


@shared_task(name="emails.notify_plan_rates_changed")
def notify_plan_rates_changed_task(plan_id: int) -> int:
    """A plan's rates changed in admin (affiliates.admin): each affiliate on it is told."""
    plan = Plan.objects.filter(pk=plan_id).first()
    return 0 if plan is None else notices.notify_plan_rates_changed(plan=plan)
