"""The affiliate's prize leaderboard page: this month so far and last month's winners (reads
only: dashboard.selectors.leaderboard)."""

from __future__ import annotations

from datetime import UTC

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from affiliates.access import affiliate_required
from commissions.prize_models import Contest, PrizePlace
from commissions.prize_selectors import previous_month
from config.db_router import replica_reads
from dashboard.selectors import leaderboard as reads


@replica_reads
@affiliate_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    affiliate = request.affiliate
    now = timezone.now()
    this_month = now.astimezone(UTC).date().replace(day=1)
    last_month = previous_month(now)
    boards = []
    for contest in reads.contests_for(affiliate):
        places = list(
            PrizePlace.objects.filter(contest=contest)
            .order_by("rank")
            .values_list("amount", flat=True)
        )
        boards.append(
            {
                "contest": contest,
                "label": Contest(contest).label,
                "places": places,
                "budget": sum(places),
                "current": reads.standings_rows(
                    month=this_month, contest=contest, viewer=affiliate
                ),
                "winners": reads.winners_rows(month=last_month, contest=contest, viewer=affiliate),
            }
        )
    return render(
        request,
        "dashboard/leaderboard.html",
        {
            "affiliate": affiliate,
            "boards": boards,
            "this_month": this_month,
            "last_month": last_month,
            "currency": reads.currency(),
        },
    )
