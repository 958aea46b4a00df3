"""Payout methods and tax details (PayPal e-mail, bank details, Stripe Connect onboarding), and the admin's holds."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse

from affiliates.models import Affiliate, User
from config.errors import NotFound, ServiceError
from config.mail import send_email_on_commit
from payouts import providers
from payouts.models import PayoutAccount, new_token
from payouts.providers import PermanentError, TransientError
from payouts.services.history import audit

log = logging.getLogger(__name__)


def ensure_account(*, affiliate: Affiliate) -> PayoutAccount:
    """The affiliate's account row, created empty (method none) if it has none yet.

    Only the writes below call it, first thing: the row exists from the affiliate's first
    attempt to set payout details, accepted or refused (an empty row means what no row
    means). Pages never create it: they read payouts.selectors.payout_account."""
    account, _ = PayoutAccount.objects.get_or_create(affiliate=affiliate)
    return account


def _require_password(user: User, password: str | None) -> None:
    if not password or not check_password(password, user.password):
        raise ServiceError(
            "Enter your current password to change payout details.",
            code="wrong_password",
            fields={"password": ["Wrong password."]},
            status=403,
        )


def _authorise_change(
    *, affiliate: Affiliate, password: str | None, staff: User | None, reason: str
) -> User:
    """Who may change an affiliate's payout details, and the actor the audit records.

    The affiliate itself: with its current password (an open session alone is not enough).
    A staff member (Program manager's admin action): no affiliate password — the staff member
    is authenticated by the admin — but the change permission and a written reason; the hold,
    the audit (with the staff member as actor) and the e-mail to the affiliate stay."""
    if staff is None:
        _require_password(affiliate.user, password)
        return affiliate.user
    if not (staff.is_active and staff.is_staff and staff.has_perm("payouts.change_payoutaccount")):
        raise ServiceError(
            "You may not change payout details.", code="permission_denied", status=403
        )
    if not reason.strip():
        raise ServiceError(
            "Say why the payout details are changed.", fields={"reason": ["Required."]}
        )
    return staff


def _check_length(value: str, *, field: str, max_length: int) -> None:
    # Forms enforce these first; the service checks again because it is the one way in
    # (a value longer than its column is a 400 here, never a database error and a 500).
    if len(value) > max_length:
        raise ServiceError(
            f"At most {max_length} characters.",
            fields={field: [f"At most {max_length} characters."]},
        )


def _details_changed(
    *,
    account: PayoutAccount,
    now: datetime,
    what: str,
    actor: Any,
    reason: str = "",
    by_staff: bool = False,
) -> None:
    """Any change of method or details: start the 48 h hold and tell the affiliate, at the
    address on file (an attacker who changed the details does not read that mailbox)."""
    account.details_changed_at = now
    account.updated_at = now
    affiliate = account.affiliate
    details: dict[str, Any] = {"what": what}
    if by_staff:
        details.update(by="staff", reason=reason[:500])
    audit(action="payout_details_changed", affiliate=affiliate, actor=actor, now=now, **details)
    hold = settings.PAYOUT_DETAILS_HOLD_HOURS
    body = (
        f"Your payout details were changed ({what}) at {now:%Y-%m-%d %H:%M} UTC"
        + (f" by the {settings.PROGRAM_NAME} team. Reason: {reason}" if by_staff else "")
        + f".\nFor your safety, payouts are held for {hold} hours after a change.\n"
        "If this was not you, reply to this e-mail at once."
    )
    send_email_on_commit(
        to=[affiliate.user.email], subject="Your payout details were changed", body=body
    )


def set_paypal_email(
    *,
    affiliate: Affiliate,
    email: str,
    now: datetime,
    password: str | None = None,
    staff: User | None = None,
    reason: str = "",
) -> PayoutAccount:
    """PayPal: the e-mail must be confirmed by the link we send to it before first use
    (also when staff set it: whoever reads that inbox confirms, and the affiliate is told)."""
    account_pk = ensure_account(affiliate=affiliate).pk
    actor = _authorise_change(affiliate=affiliate, password=password, staff=staff, reason=reason)
    # Only spaces are trimmed: a CR/LF kept in the value fails the validator below.
    email = email.strip(" ").lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            "Enter a valid PayPal e-mail address.",
            fields={"paypal_email": ["Enter a valid e-mail address."]},
        ) from None
    _check_length(email, field="paypal_email", max_length=254)
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        if account.method == PayoutAccount.Method.PAYPAL and account.paypal_email == email:
            return account
        account.method = PayoutAccount.Method.PAYPAL
        account.paypal_email = email
        account.paypal_confirmed_at = None
        account.paypal_confirm_token = new_token()
        _details_changed(
            account=account,
            now=now,
            what="PayPal e-mail",
            actor=actor,
            reason=reason,
            by_staff=staff is not None,
        )
        account.save()
        link = settings.AMBASSADOR_URL + reverse(
            "payouts-paypal-confirm", args=[account.paypal_confirm_token]
        )
        send_email_on_commit(
            to=[email],
            subject="Confirm your PayPal e-mail for payouts",
            body=(
                f"Confirm that {email} should receive your {settings.PROGRAM_NAME} payouts "
                f"through PayPal:\n\n{link}\n"
            ),
        )
    return account


def confirm_paypal_email(*, token: str, now: datetime) -> PayoutAccount:
    with transaction.atomic():
        account = (
            PayoutAccount.objects.select_for_update()
            .filter(paypal_confirm_token=token)
            .exclude(paypal_confirm_token="")
            .first()
        )
        if account is None:
            raise NotFound("This confirmation link is not valid (any more).")
        account.paypal_confirmed_at = now
        account.paypal_confirm_token = ""
        account.updated_at = now
        account.save()
    return account


BANK_DETAILS_MAX_LENGTH = 1000  # a free-text TextField; the limit is ours, not the column's


def set_manual_details(
    *,
    affiliate: Affiliate,
    bank_details: str,
    now: datetime,
    password: str | None = None,
    staff: User | None = None,
    reason: str = "",
) -> PayoutAccount:
    account_pk = ensure_account(affiliate=affiliate).pk
    actor = _authorise_change(affiliate=affiliate, password=password, staff=staff, reason=reason)
    bank_details = bank_details.strip()
    if not bank_details:
        raise ServiceError("Enter your bank details.", fields={"bank_details": ["Required."]})
    _check_length(bank_details, field="bank_details", max_length=BANK_DETAILS_MAX_LENGTH)
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        account.method = PayoutAccount.Method.MANUAL
        account.bank_details = bank_details
        _details_changed(
            account=account,
            now=now,
            what="bank details",
            actor=actor,
            reason=reason,
            by_staff=staff is not None,
        )
        account.save()
    return account


def set_tax_details(
    *,
    affiliate: Affiliate,
    legal_name: str,
    country: str,
    tax_id: str,
    tax_form: str,
    now: datetime,
    password: str | None = None,
    staff: User | None = None,
    reason: str = "",
) -> PayoutAccount:
    """Kept for the admin's records; does not change where money goes, so no payout hold.
    Audited; when staff change them the affiliate is told (it is its legal identity)."""
    account_pk = ensure_account(affiliate=affiliate).pk
    actor = _authorise_change(affiliate=affiliate, password=password, staff=staff, reason=reason)
    if tax_form not in PayoutAccount.TaxForm.values:
        raise ServiceError(
            "Unknown tax form.", fields={"tax_form": ["Choose W-9, W-8BEN or W-8BEN-E."]}
        )
    legal_name, country, tax_id = legal_name.strip(), country.strip().upper(), tax_id.strip()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise ServiceError(
            "Country: two letters (ISO 3166).", fields={"tax_country": ["Two letters."]}
        )
    _check_length(legal_name, field="tax_legal_name", max_length=200)
    _check_length(tax_id, field="tax_id", max_length=64)
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        account.tax_legal_name = legal_name
        account.tax_country = country
        account.tax_id = tax_id
        account.tax_form = tax_form
        account.updated_at = now
        account.save()
        details = {"by": "staff", "reason": reason[:500]} if staff is not None else {}
        audit(action="tax_details_changed", affiliate=affiliate, actor=actor, now=now, **details)
        if staff is not None:
            send_email_on_commit(
                to=[affiliate.user.email],
                subject="Your tax details were changed",
                body=(
                    f"Your tax details were changed at {now:%Y-%m-%d %H:%M} UTC by the "
                    f"{settings.PROGRAM_NAME} team. Reason: {reason}.\n"
                    "If this is not right, reply to this e-mail."
                ),
            )
    return account


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
    _require_password(affiliate.user, password)
    client = providers.get_stripe_connect()
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        if account.method != PayoutAccount.Method.STRIPE:
            account.method = PayoutAccount.Method.STRIPE
            _details_changed(account=account, now=now, what="Stripe Connect", actor=affiliate.user)
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
    return providers.get_stripe_connect().create_account_link(
        account_id=account.stripe_account_id, return_url=return_url, refresh_url=refresh_url
    )


def refresh_stripe_account(*, stripe_account_id: str, now: datetime) -> PayoutAccount | None:
    """Re-read the account from Stripe (events are unordered: never trust the payload's order)."""
    account = PayoutAccount.objects.filter(stripe_account_id=stripe_account_id).first()
    if account is None:
        return None
    data = providers.get_stripe_connect().get_account(account_id=stripe_account_id)
    PayoutAccount.objects.filter(pk=account.pk).update(
        stripe_payouts_enabled=bool(data.get("payouts_enabled")),
        stripe_checked_at=now,
        updated_at=now,
    )
    account.refresh_from_db()
    return account


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


def hold_affiliate(*, affiliate: Affiliate, reason: str, actor: Any, now: datetime) -> None:
    account = ensure_account(affiliate=affiliate)
    account.on_hold, account.hold_reason, account.updated_at = True, reason[:200], now
    account.save()
    audit(action="payout_hold", affiliate=affiliate, actor=actor, now=now, reason=reason)


def release_affiliate(*, affiliate: Affiliate, actor: Any, now: datetime) -> None:
    account = ensure_account(affiliate=affiliate)
    account.on_hold, account.hold_reason, account.updated_at = False, "", now
    account.save()
    audit(action="payout_release", affiliate=affiliate, actor=actor, now=now)
