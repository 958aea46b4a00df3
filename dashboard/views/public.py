"""`/`: the program's public page — what it pays, the cookie window, the payout terms and
the way in (apply, log in). Open to everyone; reads only."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from config.db_router import replica_reads
from dashboard.selectors.public import program_terms


@replica_reads
def program_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/public.html",
        {"terms": program_terms(), "program_name": settings.PROGRAM_NAME},
    )
