"""Demo clicks, referrals and rollups for seed_demo: the last 90 days up to the demo clock
(today, unless seed_demo is given --now), deterministic and idempotent.

Day by day: a UTC day that already has clicks of the demo affiliates is left alone, any
other day of the window gets its clicks and signups, drawn from a Random seeded by the day
and the affiliate (so a day's data is the same whichever run made it and whatever ran
before). Re-running seed_demo later tops the program up to the new today instead of leaving
a stale month. Works on the demo affiliates of affiliates/demo.py, looked up by username;
any that are absent or not approved are skipped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from random import Random

from affiliates.models import Affiliate
from tracking import clicks, links
from tracking.models import Click, Referral
from tracking.services import refresh_rollups_for_day

DEMO_USERNAMES = ["alice", "grace-codes", "erin", "dave-deals", "frank"]
DAYS = 90
# A signup nobody referred (no cookie, no coupon): the program dashboard's unattributed row.
UNATTRIBUTED = "demo-cus-0001"
# Busiest first: alice brings the most traffic, frank (an employee) a trickle.
DAILY_CLICKS = {"alice": (6, 16), "grace-codes": (4, 11), "erin": (2, 8), "frank": (0, 3)}
SIGNUP_RATE = 0.045  # of honoured clicks
PATHS = ["/", "/blog/scheduling-tips/", "/pricing/", "/features/analytics/", "/blog/case-study/"]
REFERRERS = ["", "", "t.co", "youtube.com", "someblog.net", "facebook.com", "news.ycombinator.com"]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
]


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _clicks_for(aff: Affiliate, day: date, *, now: datetime, age: int) -> list[Click]:
    """One affiliate's clicks on one UTC day (none after `now`); traffic grows over the
    window, `age` days before today, so the charts slope up."""
    local = Random(f"clicks:{aff.username}:{day.isoformat()}")
    low, high = DAILY_CLICKS.get(aff.username, (1, 4))
    growth = (DAYS - age) * high // (2 * DAYS)  # 0 … high/2 more on the latest days
    rows = []
    visitors: list[int] = []
    for _ in range(local.randint(low, high + growth)):
        at = _day_start(day) + timedelta(seconds=local.randint(0, 86_399))
        domain = local.choice(REFERRERS)
        ua = local.choice(AGENTS)
        bot = local.random() < 0.05
        path = local.choice(PATHS)
        # One click in five is a visitor coming back the same day (unique < clicks).
        returning = bool(visitors) and local.random() < 0.2
        visitor = local.choice(visitors) if returning else local.getrandbits(128)
        visitors.append(visitor)
        if at > now:
            continue
        rows.append(
            Click(
                at=at,
                affiliate=aff,
                landing_path=path,
                referrer_domain=domain,
                medium=links.medium_for(domain),
                device="bot" if bot else links.device_for(ua),
                visitor_hash=f"{visitor:032x}",
                honoured=not bot,
                reason="bot" if bot else "",
            )
        )
    return rows


def _referrals_for(day: date, created: list[Click], *, now: datetime) -> list[Referral]:
    local = Random(f"signups:{day.isoformat()}")
    referrals = []
    for click in created:
        if not click.honoured or local.random() >= SIGNUP_RATE:
            continue
        signed_up = click.at + timedelta(hours=local.randint(1, 72))
        plan = local.choice(["Starter", "Pro", "Business"])
        if signed_up > now:
            continue
        n = len(referrals) + 1
        name = click.affiliate.username
        referrals.append(
            Referral(
                customer_id=f"demo-{day:%Y%m%d}-{n:02d}",
                email=f"customer-{day:%Y%m%d}-{n:02d}@demo-customer.test",
                affiliate=click.affiliate,
                source=Referral.Source.COOKIE,
                why=f"credited {name} by cookie from click {click.pk} on "
                f"{click.at:%Y-%m-%d} via {click.landing_path}{name}",
                click_id=click.pk,
                cookie_set_at=click.at,
                plan=plan,
                created_at=signed_up,
            )
        )
    return referrals


def seed(*, now: datetime, rng: Random) -> list[str]:
    affiliates = list(
        Affiliate.objects.filter(username__in=DEMO_USERNAMES, status=Affiliate.Status.APPROVED)
    )
    if not affiliates:
        return ["Tracking:  no demo affiliates found, skipped"]
    affiliates.sort(key=lambda a: DEMO_USERNAMES.index(a.username))
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=DAYS)
    seeded = {
        at.astimezone(UTC).date()
        for at in Click.objects.filter(
            affiliate__in=affiliates, at__gte=_day_start(first)
        ).datetimes("at", "day", tzinfo=UTC)
    }
    new_days = [first + timedelta(days=n) for n in range(DAYS + 1)]
    new_days = [day for day in new_days if day not in seeded]
    total_clicks = total_signups = 0
    for day in new_days:
        rows = [
            click
            for aff in affiliates
            for click in _clicks_for(aff, day, now=now, age=(today - day).days)
        ]
        ids = clicks.allocate_click_ids(len(rows))
        if ids:
            for row, click_id in zip(rows, ids, strict=True):
                row.id = click_id
        created = Click.objects.bulk_create(rows, batch_size=1000)
        # Signups show up to three days after their click: the referrals of a day are made
        # with that day's clicks, and their days' rollups are refreshed below.
        referrals = Referral.objects.bulk_create(
            [r for r in _referrals_for(day, created, now=now)], ignore_conflicts=True
        )
        total_clicks += len(rows)
        total_signups += len(referrals)
    if not Referral.objects.filter(customer_id=UNATTRIBUTED).exists():
        Referral.objects.create(
            customer_id=UNATTRIBUTED, email="", why="not attributed", created_at=now
        )
    # The new days and the three after each (their signups), within the window.
    touched = {day + timedelta(days=k) for day in new_days for k in range(4)}
    for day in sorted(d for d in touched if d <= today):
        refresh_rollups_for_day(day)
    return [
        f"Tracking:  {total_clicks} clicks, {total_signups} referred signups on "
        f"{len(new_days)} new days (90 days up to {today:%Y-%m-%d})"
    ]
