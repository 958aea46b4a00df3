"""The seeded program the portal's browser tests run against: `seed_demo` ending now (so
every period has figures), with a fast password hasher (the demo hashes four passwords)."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.core.management import call_command
from django.utils import timezone

from affiliates.demo import DEMO_PASSWORD, MANAGER_EMAIL, MANAGER_PASSWORD

AFFILIATE_EMAIL = "alice@example.org"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Program:
    affiliate_id: int
    referral_id: int
    affiliate_email: str = AFFILIATE_EMAIL
    affiliate_password: str = DEMO_PASSWORD
    manager_email: str = MANAGER_EMAIL
    manager_password: str = MANAGER_PASSWORD


@dataclass(frozen=True)
class Portal:
    url: str  # the live server's
    program: Program
    db_access: Callable[[], AbstractContextManager[None]]  # ORM reads inside a test


def seed_program() -> Program:
    from affiliates.models import Affiliate
    from tracking.models import Referral

    call_command(
        "seed_demo", "--now", timezone.now().isoformat(), "--quiet-progress", stdout=io.StringIO()
    )
    alice = Affiliate.objects.get(user__email=AFFILIATE_EMAIL)
    referral = Referral.objects.filter(affiliate=alice).order_by("pk").first()
    assert referral is not None, "seed_demo gave alice no referral"
    return Program(affiliate_id=alice.pk, referral_id=referral.pk)
