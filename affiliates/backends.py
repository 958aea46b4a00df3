"""Login by e-mail, whatever case the person types.

E-mails are stored lowercase (UserManager), so "Alice@Example.com" must find alice@example.com.
The lockout (django-axes) counts failures under the same normalised e-mail, or a person
locked out as "alice@example.com" could keep guessing as "ALICE@example.com".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


def normalise_login(value: Any) -> Any:
    """The stored form of a typed login e-mail: stripped and lowercased (the whole address:
    the UserManager stores it that way, so the local part's case never tells two people
    apart here)."""
    return value.strip().lower() if isinstance(value, str) else value


class EmailBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password=None, **kwargs
    ):
        if username is None:
            username = kwargs.get("email")
        return super().authenticate(request, username=normalise_login(username), password=password)


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """settings.AXES_USERNAME_CALLABLE: the username axes locks out, normalised like the login
    (from the credentials authenticate() got, else the posted form)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        raw = credentials.get(field)
    else:
        raw = getattr(request, "data", request.POST).get(field)
    return normalise_login(raw)
