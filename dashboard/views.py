"""The affiliate's home page. Reads only (dashboard writes to nothing)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from affiliates.access import affiliate_required


@affiliate_required
def home(request: HttpRequest) -> HttpResponse:
    affiliate = request.affiliate
    name = affiliate.username
    site = settings.SITE_URL
    share_links = [
        (f"{site}/{name}", "Your home page link"),
        (f"{site}/pricing/{name}", "Any page of the site: add your username at the end"),
        (f"{site}/blog/some-post/{name}", "A blog post"),
        (f"{site}/pricing?ref={name}", "Or as a ?ref= parameter"),
    ]
    return render(
        request,
        "dashboard/home.html",
        {
            "affiliate": affiliate,
            "aliases": affiliate.usernames.exclude(name=name).order_by("created_at"),
            "coupons": affiliate.coupons.filter(is_active=True).order_by("code"),
            "share_links": share_links,
        },
    )
