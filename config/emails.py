"""The e-mail framework: every e-mail the program sends is an `Email` registered here by name
(emails.catalog, loaded at start by the emails app), rendered from templates/emails/<name>/ in the recipient's language as plain
text plus HTML, and queued through config.mail (Celery, after commit, retried).

A template directory holds `subject.txt`, `body.txt` and, optionally, `body.html`; without
one the HTML part is the text in the shared layout (templates/emails/_layout.html). Text
templates start with `{% autoescape off %}`: they are not HTML.

An e-mail with a `preference` (an Affiliate boolean such as `email_payout_sent`) is news the
affiliate may turn off: it is not sent while the flag is off, and it carries an unsubscribe
link and a List-Unsubscribe header (RFC 8058 one-click) that turn that flag off without a
login (the signed token below; the page is emails.views). One without is transactional (a failed payout, an application's
outcome) and always sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core import signing
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import translation

from config.mail import send_email_on_commit


class Recipient(Protocol):
    """What sending needs of an affiliate (affiliates.Affiliate; this kernel imports no app)."""

    @property
    def public_id(self) -> str: ...
    @property
    def email_language(self) -> str: ...
    @property
    def user(self) -> Any: ...


@dataclass(frozen=True)
class Email:
    name: str
    description: str  # for the admin's preview list, in English (staff only)
    sample: Callable[[], dict[str, Any]]  # a context with made-up data, for previews and tests
    preference: str | None = None  # the Affiliate flag gating it; None = transactional
    to_managers: bool = False  # sent to Program managers, not to an affiliate

    @property
    def transactional(self) -> bool:
        return self.preference is None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


_REGISTRY: dict[str, Email] = {}


def register(email: Email) -> Email:
    if email.name in _REGISTRY:
        raise ValueError(f"E-mail {email.name!r} is registered twice")
    _REGISTRY[email.name] = email
    return email


def get(name: str) -> Email:
    return _REGISTRY[name]


def all_emails() -> list[Email]:
    return sorted(_REGISTRY.values(), key=lambda e: e.name)


def preferences() -> set[str]:
    """The Affiliate flags an unsubscribe link may turn off (and nothing else)."""
    return {e.preference for e in _REGISTRY.values() if e.preference}


def absolute(path: str) -> str:
    """An absolute link for an e-mail: AMBASSADOR_URL (the dashboard's origin) + path."""
    return settings.AMBASSADOR_URL + path


def render(
    name: str, *, context: dict[str, Any], language: str, unsubscribe_url: str = ""
) -> Rendered:
    """Subject, text and HTML of e-mail `name` in `language`, whatever the active language
    (the admin who triggered it may read another); the active language is restored after."""
    email = get(name)
    full = {
        "program_name": settings.PROGRAM_NAME,
        "site_url": settings.SITE_URL,
        "ambassador_url": settings.AMBASSADOR_URL,
        "dashboard_url": absolute("/dashboard/"),
        "unsubscribe_url": unsubscribe_url,
        "email": email,
        **context,
    }
    with translation.override(language):
        # A subject is one header line: newlines in the template collapse to spaces.
        subject = " ".join(render_to_string(f"emails/{name}/subject.txt", full).split())
        body = render_to_string(f"emails/{name}/body.txt", full).strip() + "\n"
        text = (body + render_to_string("emails/_footer.txt", full)).rstrip() + "\n"
        try:
            html_template = get_template(f"emails/{name}/body.html")
        except TemplateDoesNotExist:
            html_template = get_template("emails/_text_as_html.html")
        html = html_template.render({**full, "subject": subject, "body_text": body})
    return Rendered(subject=subject, text=text, html=html)


def send_to_affiliate(name: str, *, affiliate: Recipient, context: dict[str, Any]) -> bool:
    """Queue e-mail `name` to the affiliate, in its language, after the current transaction
    commits. False (nothing queued) when the affiliate turned this e-mail off."""
    email = get(name)
    if email.preference and not getattr(affiliate, email.preference):
        return False
    url = unsubscribe_url(affiliate=affiliate, preference=email.preference)
    rendered = render(
        name,
        context={"affiliate": affiliate, **context},
        language=affiliate.email_language,
        unsubscribe_url=url,
    )
    headers = {}
    if url:
        headers = {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    send_email_on_commit(
        to=[affiliate.user.email],
        subject=rendered.subject,
        body=rendered.text,
        html=rendered.html,
        headers=headers,
    )
    return True


def send_to_addresses(name: str, *, to: list[str], context: dict[str, Any]) -> int:
    """Queue e-mail `name` to staff addresses, one private message each, in the program's
    language (staff have no language preference)."""
    rendered = render(name, context=context, language=settings.LANGUAGE_CODE)
    for address in to:
        send_email_on_commit(
            to=[address], subject=rendered.subject, body=rendered.text, html=rendered.html
        )
    return len(to)


def send_to_address(name: str, *, to: str, language: str, context: dict[str, Any]) -> None:
    """Queue transactional e-mail `name` to one address that is not an affiliate's login
    (a PayPal address to confirm), in `language`, after the current transaction commits."""
    if not get(name).transactional:
        raise ValueError(f"E-mail {name!r} has a preference: send it with send_to_affiliate")
    rendered = render(name, context=context, language=language)
    send_email_on_commit(to=[to], subject=rendered.subject, body=rendered.text, html=rendered.html)


# --- unsubscribe links ----------------------------------------------------------------------
# A signed token naming the affiliate (its public id, never the pk) and the one preference
# flag it turns off, so the link works without a login and cannot be altered to turn off
# another flag or another affiliate's mail. Tokens do not expire: an unsubscribe link in a
# year-old e-mail must still work.

SALT = "emails.unsubscribe"


def make_token(*, public_id: str, preference: str) -> str:
    return signing.dumps([public_id, preference], salt=SALT, compress=False)


def read_token(token: str) -> tuple[str, str] | None:
    """(public id, preference) of a valid token for a known preference, else None."""
    try:
        public_id, preference = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(public_id, str) or preference not in preferences():
        return None
    return public_id, preference


def unsubscribe_url(*, affiliate: Recipient, preference: str | None) -> str:
    """The absolute link, or "" for a transactional e-mail (no preference to turn off)."""
    if not preference:
        return ""
    token = make_token(public_id=affiliate.public_id, preference=preference)
    return absolute(reverse("email-unsubscribe", args=[token]))
