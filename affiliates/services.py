"""Every write to affiliates: plain keyword-only functions owning their transactions."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import transaction

from affiliates.models import Affiliate, ApiKey, Plan, User, Username
from affiliates.selectors import forget_usernames, hash_api_key


def create_api_key(*, name: str, now: datetime) -> tuple[ApiKey, str]:
    """Returns the stored key and the raw key (shown once, never stored)."""
    raw = "amb_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name, prefix=raw[:12], hashed_key=hash_api_key(raw), created_at=now
    )
    return key, raw


@transaction.atomic
def create_affiliate(
    *,
    email: str,
    username: str,
    now: datetime,
    password: str | None = None,
    approved: bool = False,
    plan: Plan | None = None,
) -> Affiliate:
    username = username.strip().lower()
    user = User.objects.create_user(email=email, password=password)
    affiliate = Affiliate.objects.create(
        user=user,
        username=username,
        plan=plan or Plan.objects.filter(is_default=True).first(),
        applied_at=now,
        created_at=now,
        status=Affiliate.Status.APPROVED if approved else Affiliate.Status.APPLIED,
        approved_at=now if approved else None,
    )
    Username.objects.create(name=username, affiliate=affiliate, created_at=now)
    transaction.on_commit(lambda: forget_usernames([username]))
    return affiliate
