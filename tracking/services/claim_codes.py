"""Claim codes for mobile app installs: issue one for a visitor's referral cookie, and
resolve-and-spend one at signup.

A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), so a person can
read it out or type it if the clipboard fails: 31^8 ≈ 8.5 × 10^11 codes, drawn by `secrets`,
so guessing a live one is hopeless. It stands for the cookie's affiliate and click; the
signup that presents it spends it (compare-and-set on `used_at`), whatever it then credits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from affiliates import selectors as affiliates_selectors
from tracking import links
from tracking.models import ClaimCode

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
# A code handed back again (same cookie, same click) must still have this long to live;
# otherwise the visitor gets a fresh one, so a code copied today never expires tomorrow.
_REUSE_MIN_LEFT = timedelta(days=1)


def normalise_code(raw: str | None) -> str | None:
    """The code as stored (upper case, spaces and dashes a person may type dropped), or None
    when it cannot be one (wrong length or a character outside the alphabet)."""
    text = (raw or "").strip().upper().replace("-", "").replace(" ", "")
    if len(text) != LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def issue_claim_code(
    *, referral: str | None, referral_click: str | None, now: datetime
) -> ClaimCode | None:
    """A claim code for the visitor's `referral` (and `referral_click`) cookie values, or None
    when the cookie names no approved affiliate. An unused code for the same click with a day
    or more to live is handed back instead of a new row per button press."""
    public_id = (referral or "").strip()
    if not links.PUBLIC_ID_RE.fullmatch(public_id):
        return None
    affiliate = affiliates_selectors.get_affiliate_by_public_id(public_id)
    if affiliate is None or not affiliate.is_approved or not affiliate.user.is_active:
        return None
    click_id, set_at = links.parse_click_cookie(referral_click)
    reusable = (
        ClaimCode.objects.filter(
            affiliate=affiliate,
            click_id=click_id,
            used_at__isnull=True,
            expires_at__gt=now + _REUSE_MIN_LEFT,
        )
        .order_by("-expires_at")
        .first()
    )
    if reusable is not None:
        return reusable
    for _attempt in range(5):
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        try:
            with transaction.atomic():
                return ClaimCode.objects.create(
                    code=code,
                    affiliate=affiliate,
                    click_id=click_id,
                    cookie_set_at=set_at,
                    created_at=now,
                    expires_at=now + timedelta(days=settings.CLAIM_CODE_DAYS),
                )
        except IntegrityError:
            continue  # a collision (about 1 in 10^11 per live code): draw again
    raise RuntimeError("could not draw a free claim code")  # pragma: no cover


@dataclass(frozen=True)
class SpentCode:
    """What a `referral_code` at signup turned out to be: `claim` when it was valid and is
    now spent by this customer, else None with `reason` saying why it attributes nobody."""

    claim: ClaimCode | None
    reason: str


def spend_claim_code(*, raw: str, customer_id: str, now: datetime) -> SpentCode:
    """Spend a claim code for this customer's signup (once: a used code attributes nobody
    else). `raw` is the app's `referral_code` as sent."""
    code = normalise_code(raw)
    claim = ClaimCode.objects.filter(code=code).first() if code else None
    if claim is None:
        return SpentCode(None, "referral_code unknown")
    if claim.used_at is not None:
        return SpentCode(None, "referral_code already used")
    if claim.expires_at <= now:
        return SpentCode(None, "referral_code expired")
    spent = ClaimCode.objects.filter(pk=claim.pk, used_at__isnull=True).update(
        used_at=now, customer_id=customer_id
    )
    if spent != 1:
        return SpentCode(None, "referral_code already used")  # a concurrent signup won
    return SpentCode(claim, "")


def release_claim_code(*, claim: ClaimCode, customer_id: str) -> None:
    """Give back a code whose signup was refused after spending it (nothing half-written)."""
    ClaimCode.objects.filter(pk=claim.pk, customer_id=customer_id).update(
        used_at=None, customer_id=""
    )


# Expired codes are kept this long after their expiry, so an app that presents one late is
# told "expired" (and support can see why) rather than "unknown"; then the daily clean-up
# (tracking.purge_old_clicks) deletes them. A spent code's customer is on its Referral.
PURGE_AFTER_EXPIRY = timedelta(days=30)


def purge_expired_claim_codes(*, now: datetime, batch_size: int = 10_000) -> int:
    """Delete the claim codes that expired more than PURGE_AFTER_EXPIRY before `now`, used
    or not, `batch_size` per statement (short locks). Idempotent; returns the rows deleted."""
    cutoff = now - PURGE_AFTER_EXPIRY
    deleted = 0
    while True:
        ids = list(
            ClaimCode.objects.filter(expires_at__lt=cutoff).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return deleted
        deleted += ClaimCode.objects.filter(pk__in=ids).delete()[0]
