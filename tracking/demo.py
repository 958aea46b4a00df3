"""Demo clicks, referrals and rollups for seed_demo (deterministic, idempotent).

Works on the demo affiliates of affiliates/demo.py, looked up by username; any that are
absent or not approved are skipped. Uses its own Random so the shared rng of later apps is
consumed the same way whether or not this step had already run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from affiliates.models import Affiliate
from tracking import clicks, links
from tracking.models import Click, Referral
from tracking.services import refresh_rollups_for_day

DEMO_USERNAMES = ["alice", "grace-codes", "erin", "dave-deals", "frank"]
DAYS = 30
MARKER = "demo-cus-0001"
PATHS = ["/", "/blog/scheduling-tips/", "/pricing/", "/features/analytics/", "/blog/case-study/"]
REFERRERS = ["", "", "t.co", "youtube.com", "someblog.net", "facebook.com", "news.ycombinator.com"]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
]


def seed(*, now: datetime, rng: Random) -> list[str]:
    affiliates = list(
        Affiliate.objects.filter(username__in=DEMO_USERNAMES, status=Affiliate.Status.APPROVED)
    )
    if not affiliates:
        return ["Tracking:  no demo affiliates found, skipped"]
    if Referral.objects.filter(customer_id=MARKER).exists():
        return ["Tracking:  demo clicks and referrals already present"]
    local = Random(4)
    affiliates.sort(key=lambda a: DEMO_USERNAMES.index(a.username))
    start = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows: list[Click] = []
    for rank, aff in enumerate(affiliates):
        for day in range(DAYS + 1):
            for _ in range(local.randint(2, 12 - 2 * rank if rank < 4 else 3)):
                at = start + timedelta(days=day, seconds=local.randint(0, 86_399))
                if at > now:
                    continue
                domain = local.choice(REFERRERS)
                ua = local.choice(AGENTS)
                bot = local.random() < 0.05
                rows.append(
                    Click(
                        at=at,
                        affiliate=aff,
                        landing_path=local.choice(PATHS),
                        referrer_domain=domain,
                        medium=links.medium_for(domain),
                        device="bot" if bot else links.device_for(ua),
                        visitor_hash=f"{local.getrandbits(128):032x}",
                        honoured=not bot,
                        reason="bot" if bot else "",
                    )
                )
    ids = clicks.allocate_click_ids(len(rows))
    if ids:
        for row, click_id in zip(rows, ids, strict=True):
            row.id = click_id
    created = Click.objects.bulk_create(rows, batch_size=1000)
    honoured = [c for c in created if c.honoured and c.id]
    signups = 0
    for n, click in enumerate(local.sample(honoured, min(len(honoured), 40)), start=1):
        signed_up = click.at + timedelta(hours=local.randint(1, 72))
        if signed_up > now:
            continue
        Referral.objects.create(
            customer_id=MARKER if n == 1 else f"demo-cus-{n:04d}",
            email=f"customer{n}@demo-customer.test",
            affiliate=click.affiliate,
            source=Referral.Source.COOKIE,
            why=f"credited {click.affiliate.username} by cookie from click {click.pk} on "
            f"{click.at:%Y-%m-%d} via {click.landing_path}{click.affiliate.username}",
            click_id=click.pk,
            cookie_set_at=click.at,
            plan=local.choice(["Starter", "Pro", "Business"]),
            created_at=signed_up,
        )
        signups += 1
    if not Referral.objects.filter(customer_id=MARKER).exists():
        Referral.objects.create(customer_id=MARKER, email="", why="not attributed", created_at=now)
    for day in range(DAYS + 1):
        refresh_rollups_for_day((start + timedelta(days=day)).date())
    return [f"Tracking:  {len(rows)} clicks, {signups} referred signups over {DAYS} days"]
