"""factory_boy factories for every app. Each app's section is kept together."""

from datetime import UTC, datetime

import factory

from affiliates.models import Affiliate, Coupon, Plan, User, Username
from commissions.models import CommissionEntry
from tracking.models import Referral

FIXED_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

# --- affiliates -----------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    password = factory.django.Password("pass-1234-word")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    name = factory.Sequence(lambda n: f"Plan {n}")


class AffiliateFactory(factory.django.DjangoModelFactory):
    """An approved affiliate with its Username row (as services.create_affiliate makes it)."""

    class Meta:
        model = Affiliate
        skip_postgeneration_save = True  # the hook below writes another row, not this one

    user = factory.SubFactory(UserFactory)
    username = factory.Sequence(lambda n: f"aff{n:04d}x")
    status = Affiliate.Status.APPROVED
    approved_at = FIXED_NOW
    applied_at = FIXED_NOW
    created_at = FIXED_NOW

    @factory.post_generation
    def _username_row(obj, create, extracted, **kwargs):
        if create:
            Username.objects.get_or_create(
                name=obj.username, defaults={"affiliate": obj, "created_at": obj.created_at}
            )


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SAVE{n}")
    affiliate = factory.SubFactory(AffiliateFactory)


# --- tracking -------------------------------------------------------------------------


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    customer_id = factory.Sequence(lambda n: f"cus_{n:06d}")
    email = factory.Sequence(lambda n: f"customer{n}@customer.test")
    affiliate = factory.SubFactory(AffiliateFactory)
    source = Referral.Source.COOKIE
    why = "factory"
    created_at = FIXED_NOW


class ClickFactory(factory.django.DjangoModelFactory):
    """A click row as flush_clicks writes it (honoured unless told otherwise)."""

    class Meta:
        model = "tracking.Click"

    at = FIXED_NOW
    affiliate = factory.SubFactory(AffiliateFactory)
    landing_path = "/blog/post/"
    referrer_domain = ""
    medium = "direct"
    device = "desktop"
    visitor_hash = factory.Sequence(lambda n: f"{n:032x}")
    honoured = True
    reason = ""


# --- commissions ----------------------------------------------------------------------


class CommissionEntryFactory(factory.django.DjangoModelFactory):
    """A ledger entry; pass state/approve_after as the test needs."""

    class Meta:
        model = CommissionEntry

    kind = CommissionEntry.Kind.RECURRING
    affiliate = factory.SubFactory(AffiliateFactory)
    amount = 1000
    currency = "USD"
    source_type = CommissionEntry.SourceType.ADMIN
    source_id = factory.Sequence(lambda n: f"test-{n}")
    rule = "factory"
    state = CommissionEntry.State.PENDING
    approve_after = FIXED_NOW
    created_at = FIXED_NOW


def ensure_installed_default_plan() -> Plan:
    """The default plan a fresh install has, as the data migration
    commissions.0004_default_plan writes it (run here through the real app registry).
    Needed only where a transactional test's flush removed the migrated row."""
    import importlib

    from django.apps import apps

    existing = Plan.objects.filter(is_default=True).first()
    if existing is not None:
        return existing
    migration = importlib.import_module("commissions.migrations.0004_default_plan")
    migration.create_default_plan(apps, None)
    return Plan.objects.get(is_default=True)


def default_plan_with_tiers(**overrides) -> Plan:
    """The program's default plan as the demo leaves it: the installed plan ($0.25 signup,
    tiers by last month's sales with inclusive lower bounds 0 / 50000 / 100001 cents:
    < $500 → 50/20, $500.00…$1,000.00 → 60/25, ≥ $1,000.01 → 70/30) plus Kinsta's bonuses
    with a 60-day hold. `overrides` change the plan row."""
    from affiliates.models import PlanBonus

    plan = ensure_installed_default_plan()
    if overrides:
        for name, value in overrides.items():
            setattr(plan, name, value)
        plan.save()
    for product_plan, amount in (
        ("Starter", 5000),
        ("Pro", 10_000),
        ("Business", 15_000),
        ("Enterprise", 50_000),
    ):
        PlanBonus.objects.get_or_create(
            plan=plan, product_plan=product_plan, defaults={"amount": amount, "hold_days": 60}
        )
    return plan


# --- payouts --------------------------------------------------------------------------


class PayoutAccountFactory(factory.django.DjangoModelFactory):
    """A PayPal account confirmed long ago (no 48 h hold). For Stripe pass method="stripe",
    stripe_account_id and stripe_payouts_enabled=True; for manual, bank_details."""

    class Meta:
        model = "payouts.PayoutAccount"
        django_get_or_create = ("affiliate",)

    affiliate = factory.SubFactory(AffiliateFactory)
    method = "paypal"
    paypal_email = factory.LazyAttribute(lambda o: o.affiliate.user.email)
    paypal_confirmed_at = datetime(2026, 1, 1, tzinfo=UTC)
    details_changed_at = datetime(2026, 1, 1, tzinfo=UTC)
