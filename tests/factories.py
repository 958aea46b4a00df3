"""factory_boy factories for every app. Each app's section is kept together."""

from datetime import UTC, datetime

import factory

from affiliates.models import Affiliate, Coupon, Plan, User, Username

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

# --- commissions ----------------------------------------------------------------------

# --- payouts --------------------------------------------------------------------------
