"""Pure functions of the redirect: parsing the link, classifying the click, and building a
`Location` that can only ever point at the marketing site.

No database, no cache: everything here is a function of the request and settings, so the
Hypothesis property test can throw anything at it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from functools import lru_cache
from urllib.parse import quote, urlencode, urlsplit

from crawlerdetect import CrawlerDetect
from django.conf import settings

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


def build_location(path: str, params: list[tuple[str, str]]) -> str:
    """SITE_URL + path + query. The host comes from settings only; should the result still
    not be on SITE_HOSTS (it cannot, but this is the one place that guarantees it), home."""
    location = settings.SITE_URL + path
    if params:
        location += "?" + urlencode(params, quote_via=quote)
    if not location.startswith(settings.SITE_URL + "/") or not is_site_url(location):
        return home_url()
    return location


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


def client_ip(meta: dict) -> str:
    value = meta.get(settings.CLICK_IP_HEADER) or meta.get("REMOTE_ADDR") or ""
    # X-Forwarded-For: the last entry is the one our own proxy appended (not spoofable).
    return value.rsplit(",", 1)[-1].strip()
