"""Demo affiliates for seed_demo (deterministic, idempotent): plans, affiliates in every
status, an affiliate with earlier usernames, coupons, and one staff user per role."""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from affiliates.models import Affiliate, Coupon, Plan, PlanBonus, PlanTier, User
from affiliates.roles import PROGRAM_MANAGER, SUPPORT, sync_roles
from affiliates.services import change_username, create_affiliate

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-demo-pass"
DEMO_PASSWORD = "demo-pass-1234"
MANAGER_EMAIL = "manager@example.com"
MANAGER_PASSWORD = "manager-demo-pass"
SUPPORT_EMAIL = "support@example.com"
SUPPORT_PASSWORD = "support-demo-pass"

# Publer's progressive tiers by the affiliate's sales in the previous calendar month, in
# cents (inclusive lower bounds): < $500 → 50% / 20%; $500–$1,000 → 60% / 25%;
# > $1,000 → 70% / 30%. The top tier starts at 100001 cents, so exactly $1,000.00 is still
# the middle tier ("over $1,000" means strictly over).
DEFAULT_TIERS = [(0, 5000, 2000), (50_000, 6000, 2500), (100_001, 7000, 3000)]
# Kinsta's one-time bonuses per product plan, held 60 days.
DEFAULT_BONUSES = [("Starter", 5000), ("Pro", 10_000), ("Business", 15_000), ("Enterprise", 50_000)]


def _plans() -> dict[str, Plan]:
    # The default plan is the one every install has (the data migration
    # commissions.0004_default_plan: Publer's $0.25 signup and tiers): the demo reuses it
    # and never rewrites its figures (an admin's edits survive a re-seed). Only if it is
    # missing (an admin removed it in the shell) does the demo create one with the same
    # figures. The demo adds Kinsta's product-plan bonuses to it; an existing bonus is kept.
    default = Plan.objects.filter(is_default=True).first()
    if default is None:
        default, _ = Plan.objects.update_or_create(
            name="Default",
            defaults={
                "is_default": True,
                "signup_bounty": 25,
                "first_payment_bp": 5000,
                "recurring_bp": 2000,
                "recurring_months": None,
                "use_tiers": True,
            },
        )
        for min_sales, first_bp, recurring_bp in DEFAULT_TIERS:
            PlanTier.objects.get_or_create(
                plan=default,
                min_sales=min_sales,
                defaults={"first_payment_bp": first_bp, "recurring_bp": recurring_bp},
            )
    for product_plan, amount in DEFAULT_BONUSES:
        PlanBonus.objects.get_or_create(
            plan=default, product_plan=product_plan, defaults={"amount": amount, "hold_days": 60}
        )
    basic, _ = Plan.objects.update_or_create(
        name="Basic 30%",
        defaults={
            "is_default": False,
            "first_payment_bp": 3000,
            "recurring_bp": 3000,
            "use_tiers": False,
        },
    )
    employee, _ = Plan.objects.update_or_create(
        name="Employee 10% / 12 months",
        defaults={
            "is_default": False,
            "signup_bounty": 0,
            "first_payment_bp": 1000,
            "recurring_bp": 1000,
            "recurring_months": 12,
            "use_tiers": False,
        },
    )
    return {"default": default, "basic": basic, "employee": employee}


def _affiliate(
    *,
    email: str,
    username: str,
    now: datetime,
    approved: bool,
    password_hash: list[str],
    plan: Plan | None = None,
) -> Affiliate:
    existing = Affiliate.objects.filter(user__email=email).first()
    if existing is not None:
        return existing
    affiliate = create_affiliate(
        email=email, username=username, password=None, approved=approved, plan=plan, now=now
    )
    # The demo password hashed once for all demo affiliates (a hash is ~1 s of CPU on a
    # busy laptop: hashing it per affiliate was most of the seed's time).
    if not password_hash:
        password_hash.append(make_password(DEMO_PASSWORD))
    User.objects.filter(pk=affiliate.user_id).update(password=password_hash[0])
    return affiliate


def _staff(*, email: str, password: str, group: str) -> None:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, is_staff=True)
    user.groups.set([Group.objects.get(name=group)])


def seed(*, now: datetime, rng: Random) -> list[str]:
    sync_roles()
    plans = _plans()
    if not User.objects.filter(email=ADMIN_EMAIL).exists():
        User.objects.create_superuser(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    _staff(email=MANAGER_EMAIL, password=MANAGER_PASSWORD, group=PROGRAM_MANAGER)
    _staff(email=SUPPORT_EMAIL, password=SUPPORT_PASSWORD, group=SUPPORT)

    # The demo affiliates joined before the demo's 90 days of clicks (tracking/demo.py);
    # bob applied two days ago and waits in the applications queue.
    earlier = now - timedelta(days=120)
    hashed: list[str] = []
    alice = _affiliate(
        email="alice@example.org",
        username="alice",
        now=earlier,
        approved=True,
        password_hash=hashed,
    )
    _affiliate(
        email="bob@example.org",
        username="bobreviews",
        now=now - timedelta(days=2),
        approved=False,
        password_hash=hashed,
    )
    grace = _affiliate(
        email="grace@example.org",
        username="grace-codes",
        now=earlier,
        approved=True,
        plan=plans["basic"],
        password_hash=hashed,
    )
    _affiliate(
        email="frank@example.org",
        username="frank",
        now=earlier,
        approved=True,
        plan=plans["employee"],
        password_hash=hashed,
    )
    Affiliate.objects.filter(pk=grace.pk).update(is_paying_customer=True)
    Affiliate.objects.filter(user__email="frank@example.org").update(is_employee=True)

    # Rejected and suspended demo rows are set directly (no e-mails during seeding); the
    # services do the same moves for real, with e-mails and audit rows.
    carol = _affiliate(
        email="carol@example.org",
        username="carolspam",
        now=earlier,
        approved=False,
        password_hash=hashed,
    )
    Affiliate.objects.filter(pk=carol.pk, status=Affiliate.Status.APPLIED).update(
        status=Affiliate.Status.REJECTED, rejected_at=earlier + timedelta(days=1)
    )
    dave = _affiliate(
        email="dave@example.org",
        username="dave-deals",
        now=earlier,
        approved=True,
        password_hash=hashed,
    )
    Affiliate.objects.filter(pk=dave.pk, status=Affiliate.Status.APPROVED).update(
        status=Affiliate.Status.SUSPENDED,
        suspended_at=now - timedelta(days=10),
        status_note="Bid on the brand name in search ads.",
    )

    # Erin renamed herself twice: both earlier names still resolve to her.
    erin = _affiliate(
        email="erin@example.org",
        username="erinwrites",
        now=earlier,
        approved=True,
        password_hash=hashed,
    )
    if erin.usernames.count() == 1:
        change_username(affiliate=erin, new_username="erin-blog", now=earlier + timedelta(days=20))
        change_username(affiliate=erin, new_username="erin", now=earlier + timedelta(days=40))

    for code, affiliate in (("ALICE10", alice), ("ERIN20", erin), ("GRACE", grace)):
        Coupon.objects.get_or_create(
            code=code, defaults={"affiliate": affiliate, "created_at": earlier}
        )

    url = settings.AMBASSADOR_URL
    return [
        f"Admin:     {ADMIN_EMAIL} / {ADMIN_PASSWORD}  ({url}/admin/)",
        f"Manager:   {MANAGER_EMAIL} / {MANAGER_PASSWORD}  (Program manager, admin)",
        f"Support:   {SUPPORT_EMAIL} / {SUPPORT_PASSWORD}  (Support, read-only admin)",
        f"Affiliate: alice@example.org / {DEMO_PASSWORD}  ({url}/dashboard/)",
        "Also (same password): bob (applied), carol (rejected), dave (suspended), "
        "erin (aliases erinwrites, erin-blog), frank (employee), grace (Basic 30%) @example.org",
    ]
