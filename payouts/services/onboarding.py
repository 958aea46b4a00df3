"""Stripe Connect onboarding: the affiliate's Express account (created once, on the
password-checked POST), its onboarding links, and keeping `stripe_payouts_enabled` current
(from `account.updated`, the return page, and a periodic re-read for missed events)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from affiliates.models import Affiliate
from payouts.gateways import registry
from payouts.gateways.base import PermanentError, TransientError
from payouts.models import PayoutAccount
from payouts.services.accounts import ensure_account, record_details_changed, require_password

log = logging.getLogger(__name__)


def start_stripe_onboarding(
    *, affiliate: Affiliate, password: str, now: datetime, return_url: str, refresh_url: str
) -> str:
    """The affiliate's password-checked POST: switch the method to Stripe (hold + audit +
    e-mail, like any change), create its Express account once, and return an Account Link
    to Stripe's onboarding form.

    Only this POST creates accounts (the return/refresh GETs never do: a GET that created
    one left an orphan Express account per page load). The account is created after the
    method change is committed, with an idempotency key derived from the affiliate, so a
    double-submit gets the same account back from Stripe, and stored compare-and-set, so
    two requests at once cannot store two accounts."""
    account_pk = ensure_account(affiliate=affiliate).pk
    require_password(affiliate.user, password)
    client = registry.get_stripe_connect()
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        if account.method != PayoutAccount.Method.STRIPE:
            account.method = PayoutAccount.Method.STRIPE
            record_details_changed(
                account=account, now=now, what="Stripe Connect", actor=affiliate.user
            )
            account.save()
    if not account.stripe_account_id:
        created = client.create_account(
            email=affiliate.user.email,
            country=settings.STRIPE_CONNECT_COUNTRY,
            affiliate_public_id=affiliate.public_id,
            # Stripe keeps keys for 24 h: past that a retry would make a second account,
            # but by then ours is stored and this branch is not reached.
            idempotency_key=f"connect-account-{affiliate.public_id}",
        )
        PayoutAccount.objects.filter(pk=account.pk, stripe_account_id="").update(
            stripe_account_id=created["id"],
            stripe_payouts_enabled=bool(created.get("payouts_enabled")),
            stripe_checked_at=now,
            updated_at=now,
        )
        account.refresh_from_db()
    return client.create_account_link(
        account_id=account.stripe_account_id, return_url=return_url, refresh_url=refresh_url
    )


def stripe_onboarding_link(*, affiliate: Affiliate, return_url: str, refresh_url: str) -> str:
    """Stripe's refresh URL (the Account Link expired or was used): a new link for the
    account we already have. Never creates an account; "" when there is none to continue
    (the affiliate starts from the settings page's POST)."""
    account = PayoutAccount.objects.filter(affiliate=affiliate).first()
    if (
        account is None
        or account.method != PayoutAccount.Method.STRIPE
        or not account.stripe_account_id
    ):
        return ""
    return registry.get_stripe_connect().create_account_link(
        account_id=account.stripe_account_id, return_url=return_url, refresh_url=refresh_url
    )


def refresh_stripe_account(*, stripe_account_id: str, now: datetime) -> PayoutAccount | None:
    """Re-read the account from Stripe (events are unordered: never trust the payload's order)."""
    account = PayoutAccount.objects.filter(stripe_account_id=stripe_account_id).first()
    if account is None:
        return None
    data = registry.get_stripe_connect().get_account(account_id=stripe_account_id)
    PayoutAccount.objects.filter(pk=account.pk).update(
        stripe_payouts_enabled=bool(data.get("payouts_enabled")),
        stripe_checked_at=now,
        updated_at=now,
    )
    account.refresh_from_db()
    return account


def record_account_updated(*, account: dict, as_of: datetime, now: datetime) -> bool:
    """Connect's `account.updated` (the Stripe account object, as of `as_of`): whether the
    account can receive payouts. Events are unordered, so one older than the state we hold
    is ignored. Returns whether it was applied."""
    with transaction.atomic():
        stored = (
            PayoutAccount.objects.select_for_update()
            .filter(stripe_account_id=account.get("id", ""))
            .first()
        )
        if stored is None:
            return False
        if stored.stripe_checked_at and as_of < stored.stripe_checked_at:
            return False
        stored.stripe_payouts_enabled = bool(account.get("payouts_enabled"))
        stored.stripe_checked_at = as_of
        stored.updated_at = now
        stored.save(update_fields=["stripe_payouts_enabled", "stripe_checked_at", "updated_at"])
    return True


def refresh_onboarding_accounts(
    *, now: datetime, stale_after: timedelta = timedelta(minutes=30), limit: int = 500
) -> dict[str, int]:
    """The safety net for Connect's `account.updated`: re-read from Stripe every account of
    an affiliate paid by Stripe that cannot receive payouts yet (onboarding unfinished, as
    far as we know) and was not checked in the last `stale_after`, so a missed or late
    event never leaves an affiliate held. Oldest-checked first, at most `limit` per run
    (the next run takes the rest); one account's error does not stop the others.

    Accounts already enabled are not polled: if Stripe disabled one and we missed it, the
    transfer is refused and the payout fails, returning its entries for the next run."""
    due = (
        PayoutAccount.objects.filter(
            method=PayoutAccount.Method.STRIPE, stripe_payouts_enabled=False
        )
        .exclude(stripe_account_id="")
        .filter(Q(stripe_checked_at__isnull=True) | Q(stripe_checked_at__lte=now - stale_after))
        .order_by(F("stripe_checked_at").asc(nulls_first=True), "pk")
        .values_list("stripe_account_id", flat=True)[:limit]
    )
    counts = {"checked": 0, "enabled": 0, "errors": 0}
    for stripe_account_id in list(due):
        try:
            account = refresh_stripe_account(stripe_account_id=stripe_account_id, now=now)
        except (TransientError, PermanentError) as exc:
            counts["errors"] += 1
            log.warning("Could not refresh Stripe account %s: %s", stripe_account_id, exc)
            continue
        counts["checked"] += 1
        if account is not None and account.stripe_payouts_enabled:
            counts["enabled"] += 1
    return counts
