"""Referrals with payments get their share of the new customer counters (DailyCustomerStat,
CohortStat) from the summary sweeper: each is marked due here, and the dashboard reads the
marked ones live until the sweep has added them (dashboard.selectors.customers), so the
program's figures are right from the first request."""

from django.db import migrations

MARK = """
    INSERT INTO tracking_referralstatdue (referral_id)
    SELECT id FROM tracking_referral
    WHERE affiliate_id IS NOT NULL AND stat_first_paid_at IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [("tracking", "0011_customer_and_cohort_stats")]

    operations = [migrations.RunSQL(MARK, reverse_sql=migrations.RunSQL.noop)]
