"""The HTTP edge of outbound webhooks: which URLs may be registered, which addresses may be
called, and one POST with a short timeout.

SSRF: a webhook URL is typed by a staff member, but the request is made by our server, from
inside our network. Unless settings.WEBHOOK_ALLOW_PRIVATE (default: on only with DEBUG, for
a laptop and the tests on 127.0.0.1), every address a host resolves to must be a public
(global) one — loopback, private, link-local (the cloud metadata service 169.254.169.254),
CGNAT, multicast and reserved ranges are refused — at registration and again before every
attempt. The connection then goes to the very address that was checked (DNS is not asked a
second time), so a host that re-resolves to 127.0.0.1 between check and connect (DNS
rebinding) still cannot reach it. Redirects are never followed (a 3xx is a failure).
"""

from __future__ import annotations

import ipaddress
import socket
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

MAX_URL_LENGTH = 2000
# The response body is not needed (the status is the answer); a little is read so the
# connection closes cleanly, never a receiver's whole page.
READ_AT_MOST = 64 * 1024
# What a failed send may raise: the network (refused, reset, timeout, DNS, TLS) or a reply
# that is not HTTP.
SEND_ERRORS = (OSError, HTTPException)

_validate = URLValidator(schemes=("http", "https"))


class RefusedAddress(OSError):
    """The URL's host is, or resolves to, an address webhooks may not call."""


def check_url(url: object, *, allow_private: bool) -> str:
    """`url` if an endpoint may have it; otherwise ValueError saying why (nothing else is
    looked at before it passes)."""
    if not isinstance(url, str) or not url:
        raise ValueError("Enter the receiver's URL.")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("The URL must not contain spaces or control characters.")
    try:
        _validate(url)
        parts = urlsplit(url)
        port = parts.port  # ValueError when out of range (URLValidator lets :99999 by)
    except (ValidationError, ValueError):
        raise ValueError("Enter a valid http:// or https:// URL.") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("Put no user name or password in the URL: the signature authenticates.")
    if parts.fragment:
        raise ValueError("The URL must not have a #fragment.")
    if not allow_private:
        vetted_address(parts.hostname or "", port or _default_port(parts.scheme))
    return url


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone id is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_global and not ip.is_multicast


def vetted_address(host: str, port: int, *, allow_private: bool = False) -> str:
    """The address to connect to for `host`: its first resolved address, once every address
    it resolves to is public (unless `allow_private`). RefusedAddress otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise RefusedAddress(f"The host {host} does not resolve ({exc}).") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise RefusedAddress(f"The host {host} does not resolve.")
    if not allow_private:
        blocked = [a for a in addresses if not _is_public(a)]
        if blocked:
            raise RefusedAddress(
                f"The host {host} is a private or local address ({blocked[0]}): webhooks "
                "call public addresses only (WEBHOOK_ALLOW_PRIVATE)."
            )
    return addresses[0]


def post(
    url: str, *, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool
) -> int:
    """POST `body` to `url`; the response's status code. Raises one of SEND_ERRORS."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or _default_port(parts.scheme)
    address = vetted_address(host, port, allow_private=allow_private)
    conn: HTTPConnection = (HTTPSConnection if parts.scheme == "https" else HTTPConnection)(
        host, port, timeout=timeout
    )

    # Connect to the checked address; Host, TLS SNI and the certificate check still use the
    # URL's host name (http.client keeps it in conn.host).
    def connect_checked(_target: object, timeout: float | None = None, source: object = None):
        return socket.create_connection((address, port), timeout)

    conn._create_connection = connect_checked  # type: ignore[attr-defined]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(READ_AT_MOST)
        return response.status
    finally:
        conn.close()
