"""Pure functions of links: parsing the link, classifying the click, building a `Location`
that can only ever point at the marketing site and the referral cookies that go with it
(`destination`, shared by the redirect and the click API), reading the `referral_click`
cookie back, and generating an affiliate's links (`build_affiliate_link`).

No database, no cache: everything here is a function of its arguments and settings, so the
Hypothesis property test can throw anything at it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from crawlerdetect import CrawlerDetect
from django.conf import settings

from config.errors import ServiceError

if TYPE_CHECKING:
    from affiliates.models import Affiliate
    from affiliates.resolver_cache import ResolvedAffiliate

# DESIGN.md "Cookie": `referral` holds the affiliate's public id; `referral_click` names the
# click, "<click id>.<unix time the cookie was set>".
COOKIE_NAME = "referral"
CLICK_COOKIE_NAME = "referral_click"

USERNAME_RE = re.compile(r"[a-z0-9_-]{3,30}")
PUBLIC_ID_RE = re.compile(r"[A-Za-z0-9_-]{6,16}")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Characters kept as they are inside one path segment; everything else is percent-encoded,
# so a segment can never contain "/", "\", "?", "#" or a control character.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"

_crawler_detect = CrawlerDetect()
_BOT_UA_ALLOW = tuple(p.lower() for p in settings.BOT_UA_ALLOW)
_crawler_detect.isCrawler("warm-up")  # compile the big regex at import, not on a click


def normalise_username(raw: str) -> str | None:
    """The lowercase username if it is shaped like one, else None (saves a cache lookup and
    keeps random 404 paths out of the resolver cache)."""
    name = (raw or "").strip().lower()
    return name if USERNAME_RE.fullmatch(name) else None


def safe_segments(segments: list[str]) -> list[str] | None:
    """The path segments before the username, or None when the path is unsafe or odd
    (`//evil.com`, `/\\evil.com`, control characters, `javascript:`, dot segments…): the
    redirect then falls back to the site's home."""
    if not segments:
        return []
    for seg in segments:
        if not seg or seg in (".", "..") or "\\" in seg or _CONTROL_RE.search(seg):
            return None
    if _SCHEME_RE.match(segments[0]):
        return None
    return segments


def landing_path(segments: list[str] | None) -> str:
    """'/blog/post/' (trailing slash as the site uses) or '/' for the home page."""
    if not segments:
        return "/"
    path = "/" + "/".join(quote(seg, safe=_SEGMENT_SAFE) for seg in segments)
    return path + "/" if settings.SITE_TRAILING_SLASH else path


def clean_params(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The link's query minus tracking noise (ad click ids, our own ?ref=)."""
    strip = {p.lower() for p in settings.CLICK_STRIP_PARAMS} | {
        p.lower() for p in settings.AD_CLICK_PARAMS
    }
    return [(k, v) for k, v in params if k.lower() not in strip]


def utm_params(
    params: list[tuple[str, str]], *, domain: str, medium: str, username: str
) -> list[tuple[str, str]]:
    """UTM tags for an honoured click; utm_* already in the link are kept, not duplicated."""
    present = {k.lower() for k, _ in params}
    tags = [
        ("utm_source", domain or "direct"),
        ("utm_medium", medium),
        ("utm_campaign", "affiliate"),
        ("utm_content", username),
    ]
    return params + [(k, v) for k, v in tags if k not in present]


def home_url() -> str:
    return settings.SITE_URL + "/"


def is_site_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and parts.hostname is not None
        and parts.hostname in settings.SITE_HOSTS
        and "\\" not in url
        and not _CONTROL_RE.search(url)
    )


# Query keys and values repeat (utm tags, plan names, usernames): quoted once. Bounded, since
# a link's query is the visitor's.
_quote = lru_cache(maxsize=4096)(lambda text: quote(text, safe=""))


def build_location(path: str, params: list[tuple[str, str]]) -> str:
    """SITE_URL + path + query. The host comes from settings only; should the result still
    not be on SITE_HOSTS (it cannot, but this is the one place that guarantees it), home.

    `urlencode(params, quote_via=quote)` written out, with each part's quoting memoised. The
    check: the location starts with SITE_URL + "/", so its scheme and host are SITE_URL's,
    and SITE_URL + "/" passes `is_site_url` (memoised per SITE_URL value); what the rest may
    still carry that `is_site_url` refuses — a backslash or a control character — is looked
    for in the whole location, as `is_site_url(location)` would (tested to agree)."""
    location = settings.SITE_URL + path
    if params:
        location += "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params)
    prefix = settings.SITE_URL + "/"
    if (
        not location.startswith(prefix)
        or not _site_prefix_ok(prefix, tuple(settings.SITE_HOSTS))
        or "\\" in location
        or _CONTROL_RE.search(location)
    ):
        return home_url()
    return location


@lru_cache(maxsize=8)
def _site_prefix_ok(prefix: str, hosts: tuple[str, ...]) -> bool:
    return is_site_url(prefix)  # `hosts`: SITE_HOSTS, part of the memo's key


def ad_reason(params: list[tuple[str, str]], referrer: str) -> str:
    """'ad_param' / 'ad_referrer' when the click came from a paid ad or a network, else ''."""
    ad_keys = {p.lower() for p in settings.AD_CLICK_PARAMS}
    if any(k.lower() in ad_keys for k, _ in params):
        return "ad_param"
    if referrer:
        ref = referrer.lower().split("://", 1)[-1]
        host = ref.split("/", 1)[0].split(":", 1)[0]
        for pattern in settings.AD_REFERRER_PATTERNS:
            pattern = pattern.lower()
            if "/" in pattern:
                if ref.startswith(pattern) or ref.removeprefix("www.").startswith(pattern):
                    return "ad_referrer"
            elif host == pattern or host.endswith("." + pattern):
                return "ad_referrer"
    return ""


def referrer_domain(referrer: str) -> str:
    """The referring site's host without 'www.', '' when there is none (direct)."""
    if not referrer:
        return ""
    try:
        host = urlsplit(referrer).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")[:255]


def medium_for(domain: str) -> str:
    if not domain:
        return "direct"
    for social in settings.SOCIAL_DOMAINS:
        if domain == social or domain.endswith("." + social):
            return "social"
    return "website"


@lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    # crawlerdetect keeps the maintained list; user agents repeat, so answers are memoised.
    # A person trying a link by hand (curl -i …/alice) is not a crawler: the command-line
    # clients in settings.BOT_UA_ALLOW are honoured although crawlerdetect lists them.
    if user_agent.lower().startswith(_BOT_UA_ALLOW):
        return False
    return bool(user_agent) and _crawler_detect.isCrawler(user_agent)


def device_for(user_agent: str) -> str:
    if is_bot(user_agent):
        return "bot"
    ua = user_agent.lower()
    if "ipad" in ua or "tablet" in ua:
        return "tablet"
    if "mobi" in ua or "android" in ua or "iphone" in ua:
        return "mobile"
    return "desktop"


@lru_cache(maxsize=4)
def _daily_salt(day: date) -> bytes:
    # Derived from SECRET_KEY and the UTC date: rotates daily, never stored, so yesterday's
    # hashes cannot be linked to today's and no table of raw IPs exists anywhere.
    return hashlib.sha256(
        f"{settings.SECRET_KEY}:click-visitor:{day.isoformat()}".encode()
    ).digest()


def visitor_hash(*, ip: str, user_agent: str, day: date) -> str:
    return hmac.new(
        _daily_salt(day), f"{ip}\n{user_agent}".encode("utf-8", "replace"), hashlib.sha256
    ).hexdigest()[:32]


def client_ip(meta: Mapping[str, str]) -> str:
    value = meta.get(settings.CLICK_IP_HEADER) or meta.get("REMOTE_ADDR") or ""
    # X-Forwarded-For: the last entry is the one our own proxy appended (not spoofable).
    return value.rsplit(",", 1)[-1].strip()


# --- where an honoured click lands, and its cookies ----------------------------------------


@dataclass(frozen=True, slots=True)
class Cookie:
    """One referral cookie with its flags (DESIGN.md "Cookie": first-party, server-set,
    Secure, SameSite=Lax; HttpOnly, since no script of the site needs to read it)."""

    name: str
    value: str
    max_age: int
    domain: str | None
    secure: bool
    path: str = "/"
    httponly: bool = True
    samesite: str = "Lax"


@dataclass(frozen=True, slots=True)
class Destination:
    location: str  # on the site only (build_location)
    cookies: tuple[Cookie, ...]  # empty unless the click was honoured


class _Request(Protocol):
    def is_secure(self) -> bool: ...


def secure_cookies(request: _Request) -> bool:
    """Secure always, except on a developer's DEBUG server over plain http. `request`: the
    redirect's HttpRequest or the click API's DRF Request."""
    return not (settings.DEBUG and not request.is_secure())


def click_cookie_value(click_id: int | None, now: datetime) -> str:
    return f"{click_id}.{int(now.timestamp())}"


def parse_click_cookie(value: str | None) -> tuple[int | None, datetime | None]:
    """`referral_click` → (click id, when the cookie was set); (None, None) when unreadable."""
    if not value:
        return None, None
    raw_id, _, raw_ts = value.partition(".")
    try:
        click_id = int(raw_id)
        set_at = datetime.fromtimestamp(int(raw_ts), tz=UTC) if raw_ts else None
    except (ValueError, OverflowError, OSError):
        return None, None
    return (click_id if click_id > 0 else None), set_at


def destination(
    *,
    path: str,
    params: list[tuple[str, str]],
    referrer: str,
    honoured: ResolvedAffiliate | None,
    click_id: int | None,
    now: datetime,
    secure: bool,
) -> Destination:
    """Where a click lands and the cookies it sets — the one recipe of the redirect and the
    click API. `path` is the landing path (landing_path), `params` the link's query;
    `honoured` the affiliate when the click is honoured (UTM tags when settings.UTM_TAGS,
    and the referral cookies), None otherwise (the clean link, no cookie)."""
    query = clean_params(params)
    if honoured is None:
        return Destination(build_location(path, query), ())
    if settings.UTM_TAGS:
        domain = referrer_domain(referrer)
        query = utm_params(
            query, domain=domain, medium=medium_for(domain), username=honoured.username
        )
    max_age = settings.REFERRAL_COOKIE_DAYS * 24 * 60 * 60
    domain_attr = settings.COOKIE_DOMAIN
    cookies = (
        Cookie(COOKIE_NAME, honoured.public_id, max_age, domain_attr, secure),
        Cookie(CLICK_COOKIE_NAME, click_cookie_value(click_id, now), max_age, domain_attr, secure),
    )
    return Destination(build_location(path, query), cookies)


# --- link generator ------------------------------------------------------------------------


@dataclass(frozen=True)
class AffiliateLink:
    url: str  # https://example.com/blog/post/alice (the site forwards it to Ambassador)
    ref_url: str  # https://example.com/blog/post/?ref=alice (static pages, JS snippet)
    redirect_url: str  # {AMBASSADOR_URL}/r/blog/post/alice (works without site changes)
    html: str


def build_affiliate_link(*, affiliate: Affiliate, url: str, text: str = "") -> AffiliateLink:
    """Any URL on the site (or a path) → the affiliate's links and an HTML snippet with
    rel="sponsored noopener" (search engines must not count affiliate links as endorsements)."""
    raw = (url or "").strip()
    if raw.startswith("/") and not raw.startswith("//"):
        raw = settings.SITE_URL + raw
    if not is_site_url(raw):
        raise ServiceError(
            f"{url!r} is not a page of the site ({', '.join(settings.SITE_HOSTS)}).",
            code="off_site",
            fields={"url": [f"Use a URL on {', '.join(settings.SITE_HOSTS)}."]},
        )
    parts = urlsplit(raw)
    segments = [s for s in parts.path.split("/") if s]
    base = "/" + "/".join(quote(s, safe=_SEGMENT_SAFE + "%") for s in segments)
    name = affiliate.username
    query = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in query if k.lower() != "ref"]
    qs = ("?" + urlencode(query, quote_via=quote)) if query else ""
    origin = f"{parts.scheme}://{parts.netloc}"
    path_link = origin + base.rstrip("/") + "/" + name + qs
    slash = "/" if settings.SITE_TRAILING_SLASH and base != "/" else ""
    ref_link = origin + base + slash + "?" + urlencode(query + [("ref", name)], quote_via=quote)
    redirect_url = f"{settings.AMBASSADOR_URL}/r{base.rstrip('/')}/{name}{qs}"
    label = escape(text or path_link)
    html = f'<a href="{escape(path_link)}" rel="sponsored noopener">{label}</a>'
    return AffiliateLink(url=path_link, ref_url=ref_link, redirect_url=redirect_url, html=html)
