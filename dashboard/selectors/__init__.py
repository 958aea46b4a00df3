"""Reads behind the dashboards, one module per page family; the package re-exports the
shared names (the period, the rollup totals) that every page uses."""

from dashboard.selectors.period import (
    DEFAULT_PERIOD_DAYS,
    PERIOD_CHOICES,
    RANGES,
    Period,
    period_from_param,
    period_from_query,
)
from dashboard.selectors.rollups import (
    TOTAL_FIELDS,
    affiliate_status_counts,
    balances,
    daily_series,
    latest_entries,
    period_totals,
    top_affiliates,
    top_paths,
    top_referrers,
)

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "PERIOD_CHOICES",
    "RANGES",
    "TOTAL_FIELDS",
    "Period",
    "affiliate_status_counts",
    "balances",
    "daily_series",
    "latest_entries",
    "period_from_param",
    "period_from_query",
    "period_totals",
    "top_affiliates",
    "top_paths",
    "top_referrers",
]

from dashboard.selectors.links import (  # noqa: E402
    LINKS_TOP_LIMIT,
    active_creatives,
    affiliate_coupons,
    link_performance,
)

__all__ += ["LINKS_TOP_LIMIT", "active_creatives", "affiliate_coupons", "link_performance"]
