"""The affiliate's Links page (link generator, HTML snippet, QR code, where its clicks land
and come from) and Creatives page (banners and logos with a ready embed snippet). Reads only:
the links are built by the pure tracking.links.build_affiliate_link, the figures come from
dashboard.selectors (rollups)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from affiliates.access import affiliate_required
from affiliates.models import Affiliate
from config.db_router import replica_reads
from config.errors import ServiceError
from dashboard import selectors
from dashboard.selectors import PERIOD_CHOICES, RANGES
from dashboard.views.common import request_period
from tracking.links import AffiliateLink, build_affiliate_link
from tracking.models import Creative

MAX_URL_LENGTH = 2000
# The snippets' rel, as build_affiliate_link writes it: search engines must not count an
# affiliate link as an endorsement.
REL = "sponsored noopener"


def _with_scheme(raw: str) -> str:
    """'example.com/pricing' (pasted without https://) → 'https://example.com/pricing' when
    its host is the site's; anything else unchanged (and judged by build_affiliate_link)."""
    if "://" in raw or raw.startswith("/"):
        return raw
    host = raw.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].lower()
    if host in settings.SITE_HOSTS:
        return settings.SITE_URL.split("://", 1)[0] + "://" + raw
    return raw


class LinkForm(forms.Form):
    url = forms.CharField(
        label=_("Page of our site"),
        max_length=MAX_URL_LENGTH,
        required=False,
        strip=True,
        help_text=_("Paste the address of any page of our site; leave empty for the home page."),
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, affiliate: Affiliate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.affiliate = affiliate
        self.link: AffiliateLink | None = None

    def clean_url(self) -> str:
        raw = self.cleaned_data.get("url") or "/"
        try:
            self.link = build_affiliate_link(affiliate=self.affiliate, url=_with_scheme(raw))
        except ServiceError as exc:
            raise forms.ValidationError(
                _(
                    "This is not a page of our site. Use an address on %(hosts)s, such as %(example)s."
                ),
                code="off_site",
                params={
                    "hosts": ", ".join(settings.SITE_HOSTS),
                    "example": settings.SITE_URL + "/pricing",
                },
            ) from exc
        return raw


def _with_coupon(url: str, code: str) -> str:
    """`url` with ?coupon=CODE added (the redirect carries it to the checkout)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{urlencode({'coupon': code})}"


@dataclass(frozen=True)
class QrCode:
    svg: str  # inline <svg> with a viewBox and no fixed size (CSS scales it)
    svg_uri: str  # data: URIs for the download links
    png_uri: str


def qr_code(url: str) -> QrCode | None:
    """The QR code of `url`, or None when it is too long to encode."""
    try:
        qr = segno.make(url, error="m", micro=False)
    except segno.DataOverflowError:
        return None
    return QrCode(
        svg=qr.svg_inline(
            scale=1, border=2, omitsize=True, svgclass="qr", title=gettext("QR code of your link")
        ),
        svg_uri=qr.svg_data_uri(scale=10, border=4),
        png_uri=qr.png_data_uri(scale=10, border=4),
    )


def _not_shareable(request: HttpRequest, affiliate: Affiliate, page: str) -> HttpResponse:
    """Applicants (and suspended or rejected affiliates): links would not track yet."""
    return render(
        request, "dashboard/links_unavailable.html", {"affiliate": affiliate, "page": page}
    )


@replica_reads
@affiliate_required
def links(request: HttpRequest) -> HttpResponse:
    affiliate = request.affiliate
    if affiliate.status != Affiliate.Status.APPROVED:
        return _not_shareable(request, affiliate, "links")
    form = LinkForm({"url": request.GET.get("url", "")}, affiliate=affiliate)
    link = form.link if form.is_valid() else None
    period = request_period(request)
    return render(
        request,
        "dashboard/links.html",
        {
            "affiliate": affiliate,
            "form": form,
            "link": link,
            "qr": qr_code(link.url) if link else None,
            "period": period,
            "period_choices": PERIOD_CHOICES,
            "ranges": RANGES,
            "performance": selectors.link_performance(period=period, affiliate_id=affiliate.pk),
            "coupons": [
                (code, _with_coupon(link.url if link else settings.SITE_URL + "/", code))
                for code in selectors.affiliate_coupons(affiliate_id=affiliate.pk)
            ],
            "top_limit": selectors.LINKS_TOP_LIMIT,
        },
    )


@dataclass(frozen=True)
class Embed:
    creative: Creative
    link: str
    image_url: str
    snippet: str  # plain HTML text: the template escapes it for display and data-copy


def embed(creative: Creative, affiliate: Affiliate) -> Embed:
    """The creative linked to its target page with the affiliate's username, the image's
    absolute URL on Ambassador (the affiliate's site loads it from there)."""
    try:
        link = build_affiliate_link(affiliate=affiliate, url=creative.target_path).url
    except ServiceError:  # a path valid when saved, off the site since SITE_URL changed
        link = build_affiliate_link(affiliate=affiliate, url="/").url
    image_url = settings.AMBASSADOR_URL + creative.image.url
    snippet = (
        f'<a href="{escape(link)}" rel="{REL}"><img src="{escape(image_url)}" '
        f'width="{creative.width}" height="{creative.height}" '
        f'alt="{escape(creative.alt_text)}"></a>'
    )
    return Embed(creative=creative, link=link, image_url=image_url, snippet=snippet)


@replica_reads
@affiliate_required
def creatives(request: HttpRequest) -> HttpResponse:
    affiliate = request.affiliate
    if affiliate.status != Affiliate.Status.APPROVED:
        return _not_shareable(request, affiliate, "creatives")
    embeds = [embed(c, affiliate) for c in selectors.active_creatives()]
    return render(request, "dashboard/creatives.html", {"affiliate": affiliate, "embeds": embeds})
