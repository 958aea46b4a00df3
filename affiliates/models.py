"""Who the program's people are: users (e-mail login), affiliates, their usernames (current
and earlier ones), coupons, the commission plans assigned to them, API keys and the audit log."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from affiliates import username_rules
from config.money import format_money


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: an affiliate, a program manager or a support agent. E-mail is the login."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email


_PUBLIC_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_public_id() -> str:
    # 12 alphanumerics ≈ 71 random bits: unguessable, short enough for a cookie value, and
    # never starting with "-" (it is printed by create_affiliate and pasted into commands).
    return "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(12))


class Plan(models.Model):
    """A commission plan (the commissions app computes entries from it).

    Rates are integer basis points (2000 = 20%); money figures are minor units of the
    program currency. Defaults are Publer's: $0.25 per signup, 50% of the first payment,
    20% of recurring payments, progressive tiers (PlanTier) by last month's sales.
    """

    name = models.CharField(max_length=80, unique=True)
    is_default = models.BooleanField(default=False, help_text="Plan given to new affiliates.")
    is_employee_default = models.BooleanField(
        default=False,
        help_text="Plan of employees without a plan of their own (10 % for 12 months on install).",
    )
    signup_bounty = models.BigIntegerField(
        default=25, help_text="Minor units of the program currency per signup."
    )
    first_payment_bp = models.PositiveIntegerField(
        default=5000, help_text="Basis points of a first payment."
    )
    recurring_bp = models.PositiveIntegerField(
        default=2000, help_text="Basis points of each recurring payment."
    )
    recurring_months = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Pay recurring commission for this many months; blank = lifetime.",
    )
    use_tiers = models.BooleanField(
        default=True,
        help_text="Use the progressive tiers by last month's sales instead of the flat rates.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_plan"
            ),
            models.UniqueConstraint(
                fields=["is_employee_default"],
                condition=models.Q(is_employee_default=True),
                name="one_employee_default_plan",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanTier(models.Model):
    """A progressive tier: applies when the affiliate's previous-calendar-month sales (program
    currency, minor units) are >= min_sales (the lower bound is inclusive)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tiers")
    min_sales = models.BigIntegerField(
        help_text="Inclusive lower bound, minor units of the program currency."
    )
    first_payment_bp = models.PositiveIntegerField()
    recurring_bp = models.PositiveIntegerField()

    class Meta:
        ordering = ["plan", "min_sales"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "min_sales"], name="one_tier_per_bound")
        ]

    def __str__(self) -> str:
        return f"{self.plan} ≥ {format_money(self.min_sales, settings.PROGRAM_CURRENCY)}"


class PlanBonus(models.Model):
    """A one-time bonus when a referred customer first pays for a product plan (Kinsta)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="bonuses")
    product_plan = models.CharField(
        max_length=80, help_text="Product plan name as billing reports it."
    )
    amount = models.BigIntegerField(help_text="Minor units of the program currency.")
    hold_days = models.PositiveIntegerField(default=60)

    class Meta:
        verbose_name_plural = "plan bonuses"
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "product_plan"], name="one_bonus_per_product_plan"
            )
        ]

    def __str__(self) -> str:
        money = format_money(self.amount, settings.PROGRAM_CURRENCY)
        return f"{self.plan}: {self.product_plan} {money}"


class ProductLine(models.Model):
    """A product line (Kinsta: WordPress hosting, application hosting, database hosting): a
    name plus the product plans it covers, matched on the payment's `product_plan` as billing
    reports it (Stripe: the price's nickname, lookup key or id; the payments API: `plan`).

    `patterns` holds one pattern a line, compared case-insensitively: a plan name as it is
    ("wp-business"), or a prefix ending in `*` ("wp-*"). Where lines overlap, the most
    specific pattern wins: an exact name over any prefix, a longer prefix over a shorter
    one, then the line's name (commissions.rules.line_rate_for)."""

    name = models.CharField(max_length=80, unique=True)
    patterns = models.TextField(
        help_text="One product plan a line, as billing reports it; end one with * for a "
        "prefix (wp-*). Case-insensitive."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        patterns = self.pattern_list()
        if not patterns:
            raise ValidationError({"patterns": "Name at least one product plan or prefix."})
        if any(p.strip("*") == "" or p.count("*") > 1 or "*" in p[:-1] for p in patterns):
            raise ValidationError(
                {"patterns": "A * may only end a prefix of at least one character (wp-*)."}
            )

    def pattern_list(self) -> list[str]:
        return [p.strip().lower() for p in self.patterns.splitlines() if p.strip()]

    def specificity(self, product_plan: str) -> tuple[int, int] | None:
        """How closely the line matches `product_plan`: (1, length) for an exact name,
        (0, prefix length) for a prefix; None when it does not match."""
        wanted = product_plan.strip().lower()
        if not wanted:
            return None
        best: tuple[int, int] | None = None
        for pattern in self.pattern_list():
            if pattern.endswith("*"):
                prefix = pattern[:-1]
                score = (0, len(prefix)) if wanted.startswith(prefix) else None
            else:
                score = (1, len(pattern)) if wanted == pattern else None
            if score is not None and (best is None or score > best):
                best = score
        return best


class PlanLineRate(models.Model):
    """A plan's own rates on one product line's payments. They replace the plan's rates, and
    its tiers' when it uses tiers, for a payment whose product plan is in the line; a blank
    first-payment rate leaves first payments to the plan (or tier)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="line_rates")
    line = models.ForeignKey(ProductLine, on_delete=models.PROTECT, related_name="plan_rates")
    first_payment_bp = models.PositiveIntegerField(
        null=True, blank=True, help_text="Basis points of a first payment; blank = the plan's."
    )
    recurring_bp = models.PositiveIntegerField(help_text="Basis points of each recurring payment.")

    class Meta:
        verbose_name = "product line rate"
        constraints = [
            models.UniqueConstraint(fields=["plan", "line"], name="one_rate_per_plan_line")
        ]

    def __str__(self) -> str:
        return f"{self.plan}: {self.line}"


class Affiliate(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        APPROVED = "approved", pgettext_lazy("affiliate status", "Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        TWO_WEEKLY = "two_weekly", _("Two-weekly")

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="affiliate")
    # The public id is the cookie value and the API id; the database pk never leaves the server.
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    # Current username, lowercase. Every username ever used is also a Username row.
    username = models.CharField(max_length=30, unique=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.APPLIED, db_index=True
    )
    applied_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    status_note = models.CharField(max_length=300, blank=True)

    website = models.URLField(blank=True)
    audience = models.TextField(blank=True)
    promotion = models.TextField(
        blank=True, help_text="How the applicant will promote the product."
    )
    terms_accepted_at = models.DateTimeField(null=True, blank=True)

    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="affiliates"
    )
    commission_override_bp = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Fixed rate for this affiliate on every payment (influencers).",
    )
    payout_threshold = models.BigIntegerField(
        default=5000, help_text="Minor units; 5000 ($50) or 2000 ($20)."
    )
    payout_frequency = models.CharField(
        max_length=16, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    # Perks (affiliates.services.apply_perks): the monthly job grants two-weekly payouts to
    # affiliates whose last month's sales pass settings.TWO_WEEKLY_PAYOUT_SALES (and hands
    # an automatic grant back to monthly once they no longer do); the daily job sets
    # `early_access` for affiliates active in the last 30 days. A value set by hand in admin
    # raises its "by hand" flag, and the jobs never touch a flagged value; clearing the flag
    # hands the value back to its job.
    payout_frequency_by_hand = models.BooleanField(
        default=False,
        help_text="Set by hand: the monthly job leaves the payout frequency alone.",
    )

    is_employee = models.BooleanField(default=False)
    early_access = models.BooleanField(default=False)
    early_access_by_hand = models.BooleanField(
        default=False, help_text="Set by hand: the daily job leaves early access alone."
    )
    is_paying_customer = models.BooleanField(default=False)
    # A code of settings.LANGUAGES; blank = no choice made: pages follow the browser
    # (Accept-Language), e-mails use settings.LANGUAGE_CODE.
    language = models.CharField(max_length=8, blank=True, default="")
    # What the affiliate may turn off: news about its own money. Security and transactional
    # mail (password reset, payout-detail changes, a failed or unclaimed payout) ignores them.
    email_commission_approved = models.BooleanField(
        default=True, help_text="E-mail when commissions pass their hold."
    )
    email_payout_sent = models.BooleanField(default=True, help_text="E-mail when a payout is sent.")
    email_monthly_report = models.BooleanField(
        default=True, help_text="A monthly summary of clicks, referrals and earnings."
    )
    email_commission_digest = models.BooleanField(
        default=True, help_text="A daily e-mail listing the day's new commissions."
    )
    # Whether the prize leaderboard shows its username; others see "Affiliate #rank".
    leaderboard_opt_in = models.BooleanField(
        default=False, help_text="Show my username on the prize leaderboard."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(username=Lower("username")), name="affiliate_username_lowercase"
            ),
        ]
        permissions = [
            ("impersonate_affiliate", "Can log in as the affiliate (program managers)"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def email_language(self) -> str:
        """The language its e-mails are written in (translation.override)."""
        supported = {code for code, _ in settings.LANGUAGES}
        return self.language if self.language in supported else settings.LANGUAGE_CODE


class Username(models.Model):
    """Every username an affiliate has held (the current one included). Unique for ever: an
    earlier username keeps resolving to its affiliate and can never be taken by anyone else."""

    name = models.CharField(max_length=30, unique=True)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="usernames")
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="When it stopped being current."
    )
    # Look-alike key (affiliates.username_rules.skeleton): unique, so "a1ice" can never sit
    # beside "alice". Null only for rows written by bulk_create, which skips save().
    skeleton = models.CharField(max_length=30, unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.skeleton = username_rules.skeleton(self.name)
        super().save(*args, **kwargs)


class Coupon(models.Model):
    """A coupon code tied to an affiliate: sales with it are attributed even without a click."""

    code = models.CharField(max_length=64)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="coupons")
    is_active = models.BooleanField(default=True)
    # Stripe's side of the same discount, so an invoice that carries it attributes the
    # customer with no cookie (commissions.ingest.stripe_handlers). Optional: a Stripe
    # coupon whose id is the code, or a promotion code whose code is the code, match too.
    stripe_coupon_id = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Stripe coupon id, e.g. ALICE10 or Z4OV52SU.",
    )
    stripe_promotion_code_id = models.CharField(
        max_length=255, blank=True, default="", help_text="Stripe promotion code id (promo_…)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("code"), name="coupon_code_unique_ci"),
            # One affiliate per Stripe discount: otherwise an invoice would name two.
            models.UniqueConstraint(
                fields=["stripe_coupon_id"],
                condition=~models.Q(stripe_coupon_id=""),
                name="coupon_stripe_coupon_unique",
            ),
            models.UniqueConstraint(
                fields=["stripe_promotion_code_id"],
                condition=~models.Q(stripe_promotion_code_id=""),
                name="coupon_stripe_promotion_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ApiKey(models.Model):
    """A server-to-server key. Only its SHA-256 is stored; the raw key is shown once."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a key.")
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditLog(models.Model):
    """Who did what to whom, when (impersonation, status changes by admins, payout detail changes)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    affiliate = models.ForeignKey(
        Affiliate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log entries"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.affiliate}"


# Markdown source, so the public HTML is re-rendered (and re-sanitized) on every read: a
# sanitizer fix covers every stored testimonial without a data migration.
TESTIMONIAL_MAX_LENGTH = 2000


class Testimonial(models.Model):
    """What an affiliate says about the product, shown on the marketing site once approved.
    One per affiliate: a new submission replaces the text and goes back to review."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="testimonials")
    text = models.TextField(max_length=TESTIMONIAL_MAX_LENGTH, help_text="Markdown.")
    website = models.URLField(blank=True, help_text="http or https only.")
    approved = models.BooleanField(default=False, db_index=True)
    approved_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["affiliate"], name="testimonial_one_per_affiliate"),
        ]

    def __str__(self) -> str:
        return f"{self.affiliate} ({'approved' if self.approved else 'pending'})"
