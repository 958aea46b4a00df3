"""Clicks, referrals (who referred whom, with the evidence) and daily rollups."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from affiliates.models import Affiliate, Coupon
from tracking.creatives import creative_upload_to, validate_creative_image, validate_site_path
from tracking.rollup_models import (  # noqa: F401 (the app's models, defined there)
    NO_PREVIOUS_DAY,
    CohortStat,
    DailyCustomerStat,
    MonthlyPathStat,
    MonthlyReferrerStat,
    MonthlySalesStat,
)


class Referral(models.Model):
    """A customer of the product and the affiliate credited for it (first referrer wins).

    One row per customer, written by the signups API. `affiliate` is null when nobody was
    credited (source "none"); the row still records that the customer was seen. The
    evidence (source, click, cookie time, coupon, why) is the "why credited" trail.
    """

    class Source(models.TextChoices):
        COOKIE = "cookie", _("Referral cookie")
        COUPON = "coupon", _("Coupon code")
        DECLARED = "declared", _("Declared by the customer")
        EMPLOYEE = "employee", _("Employee named at upgrade")
        NONE = "none", _("Not attributed")

    customer_id = models.CharField(
        max_length=200, unique=True, help_text="The product's customer id."
    )
    email = models.EmailField(blank=True)
    affiliate = models.ForeignKey(
        Affiliate, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.NONE)
    why = models.TextField(blank=True, help_text="In words: what credited whom.")
    # Click ids are not a foreign key: clicks may be buffered before they reach the table.
    click_id = models.BigIntegerField(null=True, blank=True)
    cookie_set_at = models.DateTimeField(null=True, blank=True)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # An employee named at upgrade earns by its own plan (10% for 12 months by default),
    # beside (not instead of) the affiliate.
    employee = models.ForeignKey(
        Affiliate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="employee_referrals",
    )
    employee_at = models.DateTimeField(null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    plan = models.CharField(max_length=80, blank=True, help_text="Product plan at signup.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # The customer's summary for the dashboard's referral list (sorted and filtered on these
    # columns, so a page costs the same at 20 or 20,000 referrals). Written only by
    # commissions.referral_stats through tracking.services.set_referral_stats, from the
    # payments and the ledger, after every money write marked the referral due
    # (ReferralStatDue). The database defaults are a customer with no money yet, so a row
    # inserted any way has a right summary until its first payment.
    stat_status = models.CharField(max_length=10, db_default="signed_up", editable=False)
    stat_plan = models.CharField(max_length=120, db_default="", editable=False)
    stat_first_paid_at = models.DateTimeField(null=True, editable=False)
    # The latest payment of which something is kept (not fully refunded, dispute not lost).
    stat_last_paid_at = models.DateTimeField(null=True, editable=False)
    # A "paying" status that rests on a recent payment only lapses to "churned" after this
    # (the sweeper recomputes it then); null when it does not lapse by time.
    stat_paying_until = models.DateTimeField(null=True, editable=False)
    # Lifetime, in minor units of the program currency (commissions.rollups' rules).
    stat_revenue = models.BigIntegerField(db_default=0, editable=False)
    stat_commission = models.BigIntegerField(db_default=0, editable=False)
    # What this referral adds to DailyCustomerStat and CohortStat: {"affiliate": id, "days":
    # [ISO UTC days of its kept payments, ascending, distinct]}, null when nothing. Written
    # with those counters (set_referral_stats), so it always says what they hold for it.
    stat_kept = models.JSONField(null=True, editable=False)

    # Not a column: attribute_signup sets it on the row it returns (True when this call
    # created it), so the signups API answers 201 or 200.
    created: bool
    # POST /api/v1/signups' `attribution` answer (tracking.services.attribution), set on the
    # row the signup returns.
    attribution: dict[str, str | None]

    class Meta:
        indexes = [
            models.Index(fields=["affiliate", "created_at"]),
            # The dashboard's referral list sorted by customer id, one affiliate's page.
            models.Index(fields=["affiliate", "customer_id"], name="referral_aff_customer"),
            # The referral list's other sorts (either direction, ties by id) and its status
            # filter (with the default sort, by signup).
            models.Index(fields=["affiliate", "stat_plan", "id"], name="referral_aff_plan"),
            models.Index(fields=["affiliate", "stat_status", "id"], name="referral_aff_status"),
            models.Index(
                fields=["affiliate", "stat_status", "created_at", "id"],
                name="referral_aff_status_signup",
            ),
            # Oldest first payment first, "no payment yet" last; the newest-first order
            # (also "no payment yet" last) has a PostgreSQL-only index, since SQLite's
            # indexes cannot say NULLS LAST (migration 0007_referral_summary).
            models.Index(
                fields=["affiliate", "stat_first_paid_at", "id"], name="referral_aff_first_paid"
            ),
            models.Index(fields=["affiliate", "stat_revenue", "id"], name="referral_aff_revenue"),
            models.Index(
                fields=["affiliate", "stat_commission", "id"], name="referral_aff_commission"
            ),
            # The sweeper's "paying lapses to churned" pass.
            models.Index(
                fields=["stat_paying_until"],
                name="referral_paying_until",
                condition=models.Q(stat_status="paying"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.affiliate or '—'}"


class Click(models.Model):
    """One visit through an affiliate link, honoured or not.

    Written by `tracking.services.flush_clicks` in bulk from the Redis buffer (or one INSERT
    per click without Redis). The id is allocated before the row exists (Redis INCR, seeded
    from this table's MAX(id)), so the redirect can put it in the `referral_click` cookie.
    Raw IP addresses are never stored: `visitor_hash` is a salted hash of IP + user agent
    whose salt rotates every UTC day, so the same visitor hashes alike within one day only.

    On PostgreSQL the table is partitioned by month on `at` (migration 0007_click_partitions,
    tracking.services.retention), so old months are dropped whole. Its database primary key
    is therefore (id, at); `id` stays this model's primary key, unique because one sequence
    and the Redis counter seeded past it allocate every id. No table may hold a foreign key
    to a click (a partitioned table's id alone is not a unique key, and old clicks go):
    Referral.click_id is a plain integer.
    """

    class Medium(models.TextChoices):
        DIRECT = "direct", _("Direct")
        WEBSITE = "website", _("Website")
        SOCIAL = "social", _("Social")

    class Device(models.TextChoices):
        DESKTOP = "desktop", _("Desktop")
        MOBILE = "mobile", _("Mobile")
        TABLET = "tablet", _("Tablet")
        BOT = "bot", _("Bot")

    class Reason(models.TextChoices):
        HONOURED = "", _("Honoured")
        AD_PARAM = "ad_param", _("Ad click id in the link")
        AD_REFERRER = "ad_referrer", _("Referred by an ad or network")
        BOT = "bot", _("Known bot")

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="clicks")
    landing_path = models.CharField(max_length=500)
    referrer_domain = models.CharField(max_length=255, blank=True)
    medium = models.CharField(max_length=8, choices=Medium.choices)
    device = models.CharField(max_length=8, choices=Device.choices)
    visitor_hash = models.CharField(max_length=32)
    honoured = models.BooleanField(default=True)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True)

    class Meta:
        # refresh_rollups scans one day at a time per affiliate.
        indexes = [models.Index(fields=["affiliate", "at"])]

    def __str__(self) -> str:
        return f"click {self.pk} {self.affiliate_id} {self.landing_path}"


class DailyStat(models.Model):
    """Per affiliate per UTC day: what dashboards read (never the raw clicks).

    Click and signup columns are recomputed by `refresh_rollups` (today and yesterday,
    every 30 s); money columns are written only by the commissions app through
    `set_daily_money`, in minor units of the program currency, for the days its writers
    marked due (DailyStatMoneyDue), whatever the day.
    """

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    clicks = models.PositiveIntegerField(default=0, help_text="Honoured clicks.")
    unique_clicks = models.PositiveIntegerField(default=0)
    rejected_clicks = models.PositiveIntegerField(default=0, help_text="Ad and bot clicks.")
    signups = models.PositiveIntegerField(default=0)
    first_payments = models.PositiveIntegerField(default=0)
    revenue = models.BigIntegerField(default=0, help_text="Minor units, program currency.")
    commission = models.BigIntegerField(default=0, help_text="Minor units, program currency.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["affiliate", "day"], name="one_daily_stat")]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.day}"


class DailyPathStat(models.Model):
    """Per affiliate per landing path per UTC day (top referring pages)."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    path = models.CharField(max_length=500)
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    signups = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["affiliate", "day", "path"], name="one_daily_path_stat")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.day} {self.path}"


class DailyReferrerStat(models.Model):
    """Per affiliate per referrer domain per UTC day ("" = direct)."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    domain = models.CharField(max_length=255, blank=True)
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    signups = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["affiliate", "day", "domain"], name="one_daily_referrer_stat"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.day} {self.domain or 'direct'}"


class DailyStatMoneyDue(models.Model):
    """An (affiliate, UTC day) whose DailyStat money columns must be recomputed: written by
    the commissions app in the same transaction as the payment, refund, dispute or ledger
    entry that changed that day's money, whatever the day (so a late payment or a refund of
    an old one reaches the dashboards), and cleared by the periodic refresh that recomputed
    it. Append-only, no unique key: writers never wait on one another for a hot
    (affiliate, today) row; the refresh folds duplicates."""

    id = models.BigAutoField(primary_key=True)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        verbose_name = "money rollup due"
        verbose_name_plural = "money rollups due"

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.day} due"


class ReferralStatDue(models.Model):
    """A referral whose summary (Referral.stat_*) must be recomputed: written by the
    commissions app in the same transaction as the payment, refund, lost dispute, entry or
    subscription event that changed it, cleared by the sweeper that recomputed it.
    Append-only, no unique key, like DailyStatMoneyDue: writers never wait on one another."""

    id = models.BigAutoField(primary_key=True)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "referral summary due"
        verbose_name_plural = "referral summaries due"

    def __str__(self) -> str:
        return f"{self.referral_id} due"


class Creative(models.Model):
    """A banner or logo an admin uploads for affiliates to embed (dashboard "Creatives"):
    each affiliate copies a snippet that links it to `target_path` with its own username.
    Width and height are read from the image on save (ImageField's width/height fields)."""

    name = models.CharField(max_length=100)
    image = models.ImageField(
        upload_to=creative_upload_to,
        width_field="width",
        height_field="height",
        validators=[validate_creative_image],
        help_text="PNG, JPEG, GIF or WebP. SVG is not accepted (it can carry script).",
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    alt_text = models.CharField(
        max_length=200, help_text="What the image says, for screen readers and when it fails."
    )
    target_path = models.CharField(
        max_length=500,
        default="/",
        validators=[validate_site_path],
        help_text="The page of the site the banner links to, e.g. /pricing/.",
    )
    is_active = models.BooleanField(
        default=True, help_text="Shown to affiliates. Embedded copies keep working when off."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["is_active", "-created_at"])]

    def __str__(self) -> str:
        return self.name


class ClaimCode(models.Model):
    """A short code standing for one visitor's referral cookie, for app installs (Publer):
    the marketing site asks `GET /r/claim-code` for it (the cookie is HttpOnly), copies it to
    the clipboard before sending the visitor to an app store, and the app passes it as
    `referral_code` to the signups API. Single-purpose: `used_at` is set (compare-and-set)
    by the one signup that presents it, and no other customer can use it after that.

    It carries what the cookies said (affiliate, click, when the cookie was set), never the
    cookie value itself, so a code leaked from a clipboard reveals nothing else."""

    code = models.CharField(max_length=16, unique=True)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    # As on Referral: not a foreign key, the click may still sit in the Redis buffer.
    click_id = models.BigIntegerField(null=True, blank=True)
    cookie_set_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    customer_id = models.CharField(max_length=200, blank=True, help_text="Who used it.")

    class Meta:
        indexes = [
            # GET /r/claim-code hands back an unused code of the same click instead of a
            # new row on every button press.
            models.Index(fields=["affiliate", "click_id", "expires_at"], name="claimcode_reuse"),
        ]

    def __str__(self) -> str:
        return self.code


class ReferralClaim(models.Model):
    """A late claim on a customer another affiliate already has: a coupon or a "who referred
    you?" name sent after the first signup call (POST /api/v1/attributions). First referrer
    wins unless a person decides otherwise: a Program manager accepts or rejects it in admin
    (tracking.services.late_claims), and the decision is recorded here (who, when, note).

    Accepting moves the customer to the claimant from the decision on: payments recorded
    after it credit the claimant; entries already written stay with the first affiliate
    (the ledger is append-only, and they were right when written)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="claims")
    affiliate = models.ForeignKey(
        Affiliate, on_delete=models.CASCADE, related_name="+", help_text="The claimant."
    )
    # The affiliate the customer had when the claim came in (who would lose it).
    previous_affiliate = models.ForeignKey(
        Affiliate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(
        max_length=16,
        choices=[
            (Referral.Source.COUPON, _("Coupon code")),
            (Referral.Source.DECLARED, _("Declared by the customer")),
        ],
    )
    coupon = models.ForeignKey(
        Coupon, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    evidence = models.CharField(max_length=300, help_text="In words: what the claim rests on.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            # One claim per customer and claimant: a repeated call answers the same claim
            # (and its decision), never a second one to decide.
            models.UniqueConstraint(
                fields=["referral", "affiliate"], name="one_claim_per_claimant"
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="claim_state_created")]

    def __str__(self) -> str:
        return f"claim {self.pk}: {self.referral_id} by {self.affiliate_id} ({self.state})"
