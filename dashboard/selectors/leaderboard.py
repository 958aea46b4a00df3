"""The prize leaderboard an affiliate sees: this month's standings so far (the same measure
the award uses, commissions.prize_selectors) and last month's winners. Usernames show only
for affiliates who opted in (Affiliate.leaderboard_opt_in); others read "Affiliate #rank".
The viewer's own row is always named and marked, and shown below the top when it is not in
it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils.translation import gettext as _

from affiliates.models import Affiliate
from commissions.prize_models import Contest, PrizeAward, PrizePlace
from commissions.prize_selectors import Standing, prize_standings

TOP = 10


@dataclass(frozen=True)
class Row:
    rank: int
    name: str
    revenue: int
    prize: int | None  # minor units of the program currency, for a paid place
    is_you: bool


def _name(*, rank: int, affiliate_id: int, viewer_id: int, usernames: dict[int, str]) -> str:
    if affiliate_id == viewer_id:
        return _("You (%(username)s)") % {"username": usernames.get(affiliate_id, "")}
    if affiliate_id in usernames:
        return usernames[affiliate_id]
    return _("Affiliate #%(rank)d") % {"rank": rank}


def _named(affiliate_ids: set[int], viewer: Affiliate) -> dict[int, str]:
    """Usernames that may be shown: the opted-in ones, and the viewer's own."""
    names = dict(
        Affiliate.objects.filter(pk__in=affiliate_ids, leaderboard_opt_in=True).values_list(
            "pk", "username"
        )
    )
    names[viewer.pk] = viewer.username
    return names


def standings_rows(*, month: date, contest: str, viewer: Affiliate) -> list[Row]:
    ranked: list[Standing] = prize_standings(month=month, contest=contest).rows
    prizes = dict(PrizePlace.objects.filter(contest=contest).values_list("rank", "amount"))
    shown = [(i, s) for i, s in enumerate(ranked, start=1) if i <= TOP]
    shown += [
        (i, s) for i, s in enumerate(ranked, start=1) if i > TOP and s.affiliate_id == viewer.pk
    ]
    usernames = _named({s.affiliate_id for _i, s in shown}, viewer)
    return [
        Row(
            rank=i,
            name=_name(
                rank=i, affiliate_id=s.affiliate_id, viewer_id=viewer.pk, usernames=usernames
            ),
            revenue=s.revenue,
            prize=prizes.get(i),
            is_you=s.affiliate_id == viewer.pk,
        )
        for i, s in shown
    ]


def winners_rows(*, month: date, contest: str, viewer: Affiliate) -> list[Row]:
    awards = list(PrizeAward.objects.filter(month=month, contest=contest).order_by("rank"))
    usernames = _named({a.affiliate_id for a in awards}, viewer)
    return [
        Row(
            rank=a.rank,
            name=_name(
                rank=a.rank, affiliate_id=a.affiliate_id, viewer_id=viewer.pk, usernames=usernames
            ),
            revenue=a.revenue,
            prize=a.amount,
            is_you=a.affiliate_id == viewer.pk,
        )
        for a in awards
    ]


def contests_for(viewer: Affiliate) -> list[str]:
    """An employee's contest is employee of the month; everyone else's the top affiliates."""
    return [Contest.EMPLOYEES if viewer.is_employee else Contest.AFFILIATES]


def currency() -> str:
    return settings.PROGRAM_CURRENCY
