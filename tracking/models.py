"""Clicks, referrals (who referred whom, with the evidence) and daily rollups."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from affiliates.models import Affiliate, Coupon


class Referral(models.Model):
    """A customer of the product and the affiliate credited for it (first referrer wins).

    One row per customer, written by the signups API. `affiliate` is null when nobody was
    credited (source "none"); the row still records that the customer was seen. The
    evidence (source, click, cookie time, coupon, why) is the "why credited" trail.
    """

    class Source(models.TextChoices):
        COOKIE = "cookie", "Referral cookie"
        COUPON = "coupon", "Coupon code"
        DECLARED = "declared", "Declared by the customer"
        EMPLOYEE = "employee", "Employee named at upgrade"
        NONE = "none", "Not attributed"

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

    class Meta:
        indexes = [models.Index(fields=["affiliate", "created_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.affiliate or '—'}"
