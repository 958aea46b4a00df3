"""The affiliate's language, remembered (Affiliate.language) and applied on every request.

Django's LocaleMiddleware picks a language from the `django_language` cookie or the
browser's Accept-Language. For a logged-in affiliate with a saved preference that preference
wins, on every device. Choosing a language with the switcher (Django's `set_language` view,
which only sets the cookie) saves it as the preference too.

Cost: the preference is put in the session at login (`remember_language_at_login`, on
Django's user_logged_in signal, whose session is saved anyway), so pages pay no query for
it; a session from before that (no key yet) reads it once.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation

from affiliates import services
from affiliates.access import is_impersonating
from affiliates.models import Affiliate

SESSION_KEY = "affiliate_language"  # "" = no preference (or not an affiliate): follow the browser


def remember_in_session(request: HttpRequest, language: str) -> None:
    """After the preference changed: the next requests use it without a query."""
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = language


def remember_language_at_login(
    sender: object, request: HttpRequest | None, user, **_: object
) -> None:
    if request is None or not hasattr(request, "session"):
        return
    found = Affiliate.objects.filter(user_id=user.pk).values_list("language", flat=True)
    request.session[SESSION_KEY] = next(iter(found), "")


def _saved_language(request: HttpRequest) -> str:
    session = request.session
    if SESSION_KEY not in session:
        found = Affiliate.objects.filter(user_id=request.user.pk).values_list("language", flat=True)
        session[SESSION_KEY] = next(iter(found), "")
    return session[SESSION_KEY]


class AffiliateLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        is_user = user is not None and user.is_authenticated
        if is_user:
            language = _saved_language(request)
            if language in self.supported:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if is_user and request.method == "POST" and request.path == reverse("set_language"):
            self._save_switcher_choice(request, response)
        return response

    def _save_switcher_choice(self, request: HttpRequest, response: HttpResponse) -> None:
        cookie = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
        if cookie is None or cookie.value not in self.supported:
            return  # set_language refused the code: nothing was chosen
        if is_impersonating(request):
            return  # a program manager's display choice is not the affiliate's preference
        affiliate = Affiliate.objects.filter(user_id=request.user.pk).first()
        if affiliate is not None:
            services.set_language(affiliate=affiliate, language=cookie.value)
            remember_in_session(request, cookie.value)


class LanguageResetMiddleware:
    """Outside LocaleMiddleware: put the thread back to the default language once the
    response is made. Django leaves the request's language active on the thread, so a
    German request would make the next work on that thread (a test, a management call in a
    shell, a worker thread) German too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            translation.deactivate()
