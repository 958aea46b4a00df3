"""The dashboards' derived rollups beyond the daily ones (tracking.models imports them):
the customer and sales counters the referral summaries keep (DailyCustomerStat,
CohortStat, MonthlySalesStat) and the monthly sums of the daily breakdowns
(MonthlyPathStat, MonthlyReferrerStat)."""

from __future__ import annotations

from datetime import date

from django.db import models

from affiliates.models import Affiliate

# DailyCustomerStat.previous of a customer's first kept payment: before every period.
NO_PREVIOUS_DAY = date(1, 1, 1)


class DailyCustomerStat(models.Model):
    """Referred customers with a kept payment (not refunded in full, dispute not lost), per
    affiliate and UTC day, keyed by the customer's previous kept payment day (`previous`;
    NO_PREVIOUS_DAY for its first). The customers with a kept payment in [start, end] are
    the rows with start ≤ day ≤ end and previous < start, summed: of each such customer's
    kept days in the period exactly the first has its previous one before the period. So
    "paying customers in a period" is a sum over affiliates × days × the gaps between
    payments (a month, a year), not a COUNT(DISTINCT) over the payments. Added to and taken
    from by tracking.services.set_referral_stats as referral summaries change."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    previous = models.DateField()
    customers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["affiliate", "day", "previous"], name="one_daily_customer_stat"
            )
        ]
        indexes = [models.Index(fields=["day", "previous"])]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.day} after {self.previous}: {self.customers}"


class CohortStat(models.Model):
    """Referred customers with a kept payment, per affiliate, by the UTC day of their first
    kept payment and how long they kept paying: `kept_months` is the largest N of
    tracking.services.referral_stats.RETENTION_DAYS whose span (less the grace) their last
    kept payment reaches, 0 for none. The program's retention at N months reads these rows
    (first_day old enough, kept_months ≥ N), its lifetime paying customers all of them.
    Kept like DailyCustomerStat."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    first_day = models.DateField()
    kept_months = models.PositiveSmallIntegerField()
    customers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["affiliate", "first_day", "kept_months"], name="one_cohort_stat"
            )
        ]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.first_day} kept {self.kept_months}: {self.customers}"


class MonthlySalesStat(models.Model):
    """An earner's sales in a UTC calendar month (`month` is its first day), as the
    commission tiers count them (commissions.rules.previous_month_sales): the payments of
    the customers it referred or was named employee for (once when both), in minor units of
    the program currency at each payment's recorded rate, before refunds; a payment still
    waiting for its rate counts 0. The overview's tier progress reads two rows here instead
    of summing a month of payments. Kept like DailyCustomerStat, by each referral's stored
    share (Referral.stat_kept)."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    sales = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["affiliate", "month"], name="one_monthly_sales_stat")
        ]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.month:%Y-%m}: {self.sales}"


class MonthlyPathStat(models.Model):
    """DailyPathStat summed per calendar month (`month` is its first day), so a long
    period's top landing pages read its whole months here and only the days at its two ends
    from DailyPathStat. Rewritten from DailyPathStat by
    tracking.services.refresh_monthly_breakdowns for each month whose days
    refresh_rollups_for_day rewrote."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    path = models.CharField(max_length=500)
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    signups = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["affiliate", "month", "path"], name="one_monthly_path_stat"
            )
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.month:%Y-%m} {self.path}"


class MonthlyReferrerStat(models.Model):
    """DailyReferrerStat summed per calendar month, kept like MonthlyPathStat."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    domain = models.CharField(max_length=255, blank=True)
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    signups = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["affiliate", "month", "domain"], name="one_monthly_referrer_stat"
            )
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.month:%Y-%m} {self.domain or 'direct'}"
