"""Reads behind the Links and Creatives pages: the affiliate's landing pages and referring
domains over a period (the rollups, as on the overview but longer lists), and the active
creatives. Each is one query whatever the data size."""

from __future__ import annotations

from typing import Any

from affiliates.models import Coupon
from dashboard.selectors.period import Period
from dashboard.selectors.rollups import top_paths, top_referrers
from tracking.models import Creative

LINKS_TOP_LIMIT = 25


def link_performance(*, period: Period, affiliate_id: int) -> dict[str, list[dict[str, Any]]]:
    """{"paths": top landing pages, "referrers": top referring domains} by clicks in the
    period, LINKS_TOP_LIMIT rows each (two aggregate queries)."""
    return {
        "paths": top_paths(period=period, affiliate_id=affiliate_id, limit=LINKS_TOP_LIMIT),
        "referrers": top_referrers(period=period, affiliate_id=affiliate_id, limit=LINKS_TOP_LIMIT),
    }


def active_creatives() -> list[Creative]:
    """The creatives shown to affiliates, newest first (one query)."""
    return list(Creative.objects.filter(is_active=True).order_by("-created_at", "-pk"))


def affiliate_coupons(*, affiliate_id: int) -> list[str]:
    """The affiliate's active coupon codes, for "Your coupons" on the Links page (one
    query): each may ride on its links as ?coupon=CODE."""
    return list(
        Coupon.objects.filter(affiliate_id=affiliate_id, is_active=True)
        .order_by("code")
        .values_list("code", flat=True)
    )
