"""Referrals with payments get their share of the new sales counter (MonthlySalesStat) from
the summary sweeper: each is marked due here (an employee-only customer too), and the
overview reads the marked ones live until the sweep has added them (dashboard.selectors.
sales), so the tier progress is right from the first request."""

from django.db import migrations

MARK = """
    INSERT INTO tracking_referralstatdue (referral_id)
    SELECT id FROM tracking_referral
    WHERE stat_first_paid_at IS NOT NULL
      AND (affiliate_id IS NOT NULL OR employee_id IS NOT NULL)
"""


class Migration(migrations.Migration):
    dependencies = [("tracking", "0015_monthly_sales_stat")]

    operations = [migrations.RunSQL(MARK, reverse_sql=migrations.RunSQL.noop)]
