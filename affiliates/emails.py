"""Who an e-mail address belongs to, as the self-referral check needs it (tracking).

Two spellings of one mailbox must compare equal: providers ignore case, deliver
`name+anything@` to `name@` (sub-addressing, RFC 5233; Gmail, Outlook, iCloud, Proton,
Fastmail and Google Workspace / Microsoft 365 domains all do), and Gmail also ignores dots in
the local part and treats googlemail.com as gmail.com. And two hosts of one organisation must
share a domain: `sub.example.com` is `example.com`, while `a.co.uk` is not `b.co.uk` — the
Public Suffix List decides (the `publicsuffixlist` package ships it; nothing is fetched).
"""

from __future__ import annotations

from functools import cache

# Gmail's documented aliases: one mailbox, dots in the local part ignored.
_GMAIL = "gmail.com"
_GMAIL_ALIASES = {"gmail.com", "googlemail.com"}


def _split(email: str) -> tuple[str, str] | None:
    value = (email or "").strip().lower()
    local, at, domain = value.rpartition("@")
    domain = domain.rstrip(".")
    if not at or not local or not domain:
        return None
    return local, domain


def canonical_domain(email: str) -> str:
    """The address's domain, lowercase, googlemail.com read as gmail.com; '' if none."""
    parts = _split(email)
    if parts is None:
        return ""
    domain = parts[1]
    return _GMAIL if domain in _GMAIL_ALIASES else domain


def canonical_mailbox(email: str) -> str:
    """One spelling per mailbox: lowercase, `+tag` dropped, Gmail's dots dropped and
    googlemail.com → gmail.com. '' for something that is not an address.

    Dropping `+tag` on every domain, not only the big providers: a self-referral check errs
    toward "the same person" only for two addresses differing in nothing but a tag, which no
    two real people have. Dots are dropped only for Gmail: elsewhere `a.b@` and `ab@` are
    different people (Google Workspace included)."""
    parts = _split(email)
    if parts is None:
        return ""
    local, _ = parts
    domain = canonical_domain(email)
    local = local.split("+", 1)[0]
    if domain == _GMAIL:
        local = local.replace(".", "")
    if not local:  # "+only@x": nothing to compare
        return ""
    return f"{local}@{domain}"


@cache
def _psl():
    from publicsuffixlist import PublicSuffixList

    # Loaded once per process from the package's bundled copy of the list.
    return PublicSuffixList()


def registrable_domain(domain: str) -> str:
    """The part of `domain` one registrant owns (eTLD+1): `mail.sub.example.co.uk` →
    `example.co.uk`. '' when `domain` is itself a public suffix (`co.uk`) or empty.
    Private suffixes count too (`alice.github.io` and `bob.github.io` are two owners)."""
    domain = (domain or "").strip().lower().rstrip(".")
    if not domain:
        return ""
    return _psl().privatesuffix(domain) or ""
