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
    password = factory.PostGenerationMethodCall("set_password", "pass-1234-word")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    name = factory.Sequence(lambda n: f"Plan {n}")


class AffiliateFactory(factory.django.DjangoModelFactory):
    """An approved affiliate with its Username row (as services.create_affiliate makes it)."""

    class Meta:
        model = Affiliate

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


# --- payouts --------------------------------------------------------------------------
