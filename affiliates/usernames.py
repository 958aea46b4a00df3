"""Username rules (DESIGN.md "Usernames"): the charset, reserved names and look-alikes.

The shape rules (length, charset, skeleton) are pure and sit in affiliates.username_rules;
this module adds what needs the URL resolver and the Username table (reserved, taken).

A username becomes the last path segment of a link on the marketing site and the root short
link `/<username>` here, so it must never shadow a route: every first path segment Ambassador
serves is reserved automatically (read from the URL resolver), plus the marketing site's own
routes (settings.RESERVED_USERNAMES).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.translation import gettext as _

from affiliates.models import Affiliate, Username
from affiliates.username_rules import (
    CHARSET,
    MAX_LENGTH,
    MIN_LENGTH,
    RESERVED_UNDER_R,
    skeleton,
)
from config.errors import ServiceError

# The shape rules live in affiliates.username_rules (no models: Username.save() uses them
# too); they are re-exported here, the module forms and callers know as "the username rules".
__all__ = ["MAX_LENGTH", "MIN_LENGTH", "reserved_usernames", "skeleton", "validate_username"]


def _first_segments(patterns: list, prefix: str = "") -> set[str]:
    """First path segments of every route, walking includes. A segment that starts with a
    converter (`<str:username>`) reserves nothing: it is the catch-all, not a name."""
    found: set[str] = set()
    for entry in patterns:
        route = prefix + str(entry.pattern)
        route = route.lstrip("^/")
        if isinstance(entry, URLResolver):
            head = route.split("/", 1)[0]
            if "/" in route and head and not _is_dynamic(head):
                # The include is mounted under a fixed segment: that segment is enough.
                found.add(_clean(head))
            else:
                found |= _first_segments(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            head = route.split("/", 1)[0]
            if head and not _is_dynamic(head):
                found.add(_clean(head))
    return {s for s in found if s}


def _is_dynamic(segment: str) -> bool:
    return segment.startswith("<") or segment.startswith("(")


def _clean(segment: str) -> str:
    # Regex routes (re_path) may carry anchors or escapes; keep the literal characters.
    return re.sub(r"[^a-z0-9_-]", "", segment.lower())


def reserved_usernames() -> set[str]:
    """Ambassador's own first path segments plus the marketing site's configured routes.

    Computed on every call from the active URLconf (cheap: a few dozen patterns), so a route
    added by any app is reserved without anyone remembering to list it."""
    own = _first_segments(get_resolver().url_patterns) | RESERVED_UNDER_R
    return own | {n.strip().lower() for n in settings.RESERVED_USERNAMES if n.strip()}


def _error(message: str, code: str = "invalid_username") -> ServiceError:
    return ServiceError(message, code=code, fields={"username": [message]})


def validate_username(name: str, *, affiliate: Affiliate | None = None) -> str:
    """Return the normalised (lowercase) username or raise ServiceError naming the broken rule.

    `affiliate`: the affiliate choosing the name; its own earlier usernames are allowed back
    (they are its aliases anyway), nobody else's ever are."""
    name = (name or "").strip()
    normalised = name.lower()
    if not MIN_LENGTH <= len(normalised) <= MAX_LENGTH:
        raise _error(
            _("A username has %(min)d to %(max)d characters.")
            % {"min": MIN_LENGTH, "max": MAX_LENGTH}
        )
    if not CHARSET.match(normalised):
        raise _error(
            _(
                "A username may contain only letters a-z, digits 0-9, hyphens (-) and "
                "underscores (_)."
            )
        )
    if normalised.isdigit():
        raise _error(_("A username cannot be only digits."))

    reserved = reserved_usernames()
    if normalised in reserved:
        raise _error(
            _("“%(name)s” is reserved (it is one of the site's pages).") % {"name": normalised},
            "reserved",
        )
    key = skeleton(normalised)
    if key in {skeleton(r) for r in reserved}:
        raise _error(
            _("“%(name)s” looks too much like a reserved name (0/o, 1/l, - and _ read alike).")
            % {"name": normalised},
            "lookalike",
        )

    existing = Username.objects.filter(name=normalised).values_list("affiliate_id", flat=True)
    owner = next(iter(existing), None)
    if owner is not None:
        if affiliate is not None and owner == affiliate.pk:
            return normalised
        raise _error(_("“%(name)s” is taken.") % {"name": normalised}, "taken")
    if Username.objects.filter(skeleton=key).exists():
        raise _error(
            _("“%(name)s” looks too much like an existing username (0/o, 1/l, - and _ read alike).")
            % {"name": normalised},
            "lookalike",
        )
    return normalised
