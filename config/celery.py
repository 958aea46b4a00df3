"""The Celery app and the whole beat schedule.

Run exactly one beat process per deployment (two would run every job twice); every job is
idempotent anyway, because acks-late delivery may run a task twice too.
"""

import os

from celery import Celery
from celery.schedules import crontab

from config import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# `filesystem://` (make run, a laptop without Redis) gets message files that appear whole.
broker.install()

app = Celery("ambassador")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # A task is acknowledged after it ran, and re-queued if its worker process died, so a
    # crash never silently drops a job. Hence every task must be safe to run twice.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    timezone="UTC",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
    # Task modules outside the apps' tasks.py (autodiscovery finds only those): the shared
    # e-mail task `ambassador.send_email`, imported by every worker at start.
    imports=("config.mail",),
)
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Pending commissions whose 30-day hold has passed become approved (or declined when
    # their payment was refunded / lost a dispute). Daily at 18:07 UTC, as Publer runs it.
    "approve-due-commissions": {
        "task": "commissions.approve_due_commissions",
        "schedule": crontab(minute=7, hour=18),
    },
    # Monthly payout run for every affiliate: the 1st of the month at 13:07 UTC.
    "run-payouts-monthly": {
        "task": "payouts.run_payouts",
        "schedule": crontab(minute=7, hour=13, day_of_month=1),
        "kwargs": {"two_weekly_only": False},
    },
    # Last month's prizes (top affiliates, employee of the month), written as approved
    # entries: the 1st at 12:07 UTC, an hour before the monthly payout run pays them.
    # A month already awarded writes nothing, so a repeat is harmless.
    "award-prizes-monthly": {
        "task": "commissions.award_prizes",
        "schedule": crontab(minute=7, hour=12, day_of_month=1),
    },
    # Perk: two-weekly payouts for affiliates whose last month's sales passed
    # TWO_WEEKLY_PAYOUT_SALES ($1,000), and back to monthly for automatic grants that no
    # longer do (set by hand: untouched). The 1st at 11:37 UTC, before the payout runs.
    "grant-two-weekly-payouts": {
        "task": "commissions.grant_two_weekly_payouts",
        "schedule": crontab(minute=37, hour=11, day_of_month=1),
    },
    # Perk: early access for affiliates with a click or a new referral in the last 30 days
    # (set by hand: untouched). Daily at 01:27 UTC.
    "refresh-early-access": {
        "task": "commissions.refresh_early_access",
        "schedule": crontab(minute=27, hour=1),
    },
    # Mid-month run for affiliates on the two-weekly schedule: the 15th at 13:07 UTC.
    "run-payouts-two-weekly": {
        "task": "payouts.run_payouts",
        "schedule": crontab(minute=7, hour=13, day_of_month=15),
        "kwargs": {"two_weekly_only": True},
    },
    # Catch-up pull of Stripe events after our stored cursor, so a missed webhook is caught
    # well inside Stripe's 30-day /v1/events window. Every 10 minutes.
    "sync-stripe": {
        "task": "commissions.sync_stripe",
        "schedule": crontab(minute="*/10"),
    },
    # Sweeper: stored provider events not yet processed (a crash between commit and enqueue
    # loses the on_commit task) are processed. Every minute.
    "process-pending-events": {
        "task": "commissions.process_pending_events",
        "schedule": crontab(),
    },
    # Bulk-insert buffered clicks from Redis into PostgreSQL. Every 2 seconds.
    "flush-clicks": {
        "task": "tracking.flush_clicks",
        "schedule": 2.0,
    },
    # Bring today's (and yesterday's) daily rollups up to date, so dashboards lag < 1 minute.
    "refresh-rollups": {
        "task": "tracking.refresh_rollups",
        "schedule": 30.0,
    },
    # PostgreSQL keeps clicks in one partition per month: make this month's and the next
    # two months' partitions before any click needs them (a click with no partition of its
    # own still lands in the default one). Daily at 00:17 UTC; a no-op on SQLite.
    "ensure-click-partitions": {
        "task": "tracking.ensure_click_partitions",
        "schedule": crontab(minute=17, hour=0),
    },
    # Drop raw clicks older than CLICK_RETENTION_DAYS (whole months on PostgreSQL, batched
    # deletes on SQLite); the daily rollups keep their figures. Also deletes claim codes
    # expired more than 30 days ago. Daily at 03:37 UTC.
    "purge-old-clicks": {
        "task": "tracking.purge_old_clicks",
        "schedule": crontab(minute=37, hour=3),
    },
    # Ask PayPal / Stripe about payouts still sending or in an unknown state (webhooks carry
    # no item data for PayPal batches, and a crash may leave a payout unknown). Every 15 min.
    "poll-payouts": {
        "task": "payouts.poll_payouts",
        "schedule": crontab(minute="*/15"),
    },
    # Re-read from Stripe the Connect accounts of affiliates still onboarding (payouts not
    # enabled yet), in case an `account.updated` to /webhooks/stripe/connect/ was missed,
    # so no affiliate stays held for it. Every 30 minutes (each account at most every 30).
    "refresh-onboarding-accounts": {
        "task": "payouts.refresh_onboarding_accounts",
        "schedule": crontab(minute="3,33"),
    },
    # Yesterday's new commissions as one e-mail per affiliate (not one per entry), once per
    # affiliate and day (emails.SentEmail): daily at 06:17 UTC, after the UTC day closed.
    "send-commission-digests": {
        "task": "emails.send_commission_digests",
        "schedule": crontab(minute=17, hour=6),
    },
    # Last month's report (clicks, signups, upgrades, earnings, tier, leaderboard) to each
    # approved affiliate that keeps it on: the 2nd at 09:17 UTC, after the 1st's prizes.
    "send-monthly-reports": {
        "task": "emails.send_monthly_reports",
        "schedule": crontab(minute=17, hour=9, day_of_month=2),
    },
    # Outbound webhooks: send deliveries that are due (retries, and first attempts whose
    # queued task was lost). Every 15 seconds, so the first retry (30 s) goes within a minute.
    "send-due-webhooks": {
        "task": "webhooks.send_due_deliveries",
        "schedule": 15.0,
    },
}


@app.task(name="ambassador.ping", ignore_result=False)
def ping_task() -> str:
    """Round-trip check used by the CI smoke test and /healthz/ready debugging."""
    return "pong"
