"""Testimonials: Markdown in, allow-listed HTML out, and the writes that submit, import and
approve them. Kept in one module (render, services, selector) because they share the rules:
the length cap, the website's schemes, and the sanitizer every public read goes through."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from affiliates.models import TESTIMONIAL_MAX_LENGTH, Affiliate, Testimonial, User
from config.errors import ServiceError

# The allow-list, and all of it: emphasis, paragraphs, links. nh3 drops every other tag
# (keeping its text, escaped) and removes <script>/<style> with their content; every other
# attribute goes, so no on* handler or style survives; an href whose scheme is not listed
# is removed (nh3 decodes entities and case first, so "JaVa&#115;cript:" is caught too).
ALLOWED_TAGS = {"p", "em", "strong", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Search engines must not count an affiliate's testimonial link as our endorsement.
LINK_REL = "nofollow sponsored"

website_validator = URLValidator(schemes=["http", "https"])


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    """nh3 drops hrefs with another scheme but keeps relative ones ("#", "/x", "//host"):
    on the marketing site they would point into it, so only an explicit allowed scheme
    stays."""
    if tag == "a" and attribute == "href":
        scheme, colon, _rest = value.partition(":")
        if not colon or scheme.strip().lower() not in ALLOWED_URL_SCHEMES:
            return None
    return value


def render_testimonial(text: str) -> str:
    """Markdown → sanitized HTML. Raw HTML in the Markdown is passed by the Markdown library
    and then judged by the same allow-list as everything else."""
    html = markdown.markdown(text, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_absolute_links_only,
    )


def _clean(*, text: str, website: str) -> tuple[str, str]:
    text = (text or "").strip()
    website = (website or "").strip()
    fields: dict[str, list[str]] = {}
    if not text:
        fields["text"] = [_("Write a few words.")]
    elif len(text) > TESTIMONIAL_MAX_LENGTH:
        fields["text"] = [_("At most %(limit)d characters.") % {"limit": TESTIMONIAL_MAX_LENGTH}]
    elif "\x00" in text:
        fields["text"] = [_("This text contains characters that are not allowed.")]
    if website:
        try:
            website_validator(website)
            if len(website) > 200 or not urlsplit(website).hostname:
                raise ValidationError("too long")
        except ValidationError:
            fields["website"] = [_("Enter a web address starting with http:// or https://.")]
    if fields:
        raise ServiceError("; ".join(m for ms in fields.values() for m in ms), fields=fields)
    return text, website


@transaction.atomic
def submit_testimonial(
    *, affiliate: Affiliate, text: str, website: str, now: datetime
) -> Testimonial:
    """The affiliate's own words (dashboard). A changed text or website goes back to review."""
    text, website = _clean(text=text, website=website)
    current = Testimonial.objects.select_for_update().filter(affiliate=affiliate).first()
    if current is None:
        return Testimonial.objects.create(
            affiliate=affiliate, text=text, website=website, created_at=now, updated_at=now
        )
    if (current.text, current.website) == (text, website):
        return current
    current.text, current.website, current.updated_at = text, website, now
    current.approved, current.approved_by, current.approved_at = False, None, None
    current.save()
    return current


@transaction.atomic
def import_testimonial(
    *, affiliate: Affiliate, text: str, website: str, approved: bool, now: datetime
) -> tuple[Testimonial, bool]:
    """An existing testimonial brought in by the admin API; replaces the affiliate's one.
    Returns (testimonial, created)."""
    text, website = _clean(text=text, website=website)
    values = {
        "text": text,
        "website": website,
        "approved": approved,
        "approved_by": None,
        "approved_at": now if approved else None,
        "updated_at": now,
    }
    testimonial, created = Testimonial.objects.select_for_update().update_or_create(
        affiliate=affiliate, defaults=values, create_defaults={**values, "created_at": now}
    )
    return testimonial, created


def approve_testimonials(*, testimonials: Iterable[Testimonial], by: User, now: datetime) -> int:
    """Admin action. Compare-and-set on `approved`, so approving twice keeps the first
    approver and time."""
    ids = [t.pk for t in testimonials]
    return Testimonial.objects.filter(pk__in=ids, approved=False).update(
        approved=True, approved_by=by, approved_at=now
    )


def list_public_testimonials() -> QuerySet[Testimonial]:
    """What the marketing site shows: approved ones of affiliates in good standing."""
    return (
        Testimonial.objects.filter(approved=True, affiliate__status=Affiliate.Status.APPROVED)
        .select_related("affiliate")
        .order_by("-approved_at", "-pk")
    )
