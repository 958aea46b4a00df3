"""The unsubscribe page behind every non-transactional e-mail's link: GET asks to confirm
(a mail scanner following links must not unsubscribe anyone), POST turns the one flag the
signed token names off. No login: the token is the authorization. CSRF-exempt for the same
reason, and because mail clients POST `List-Unsubscribe=One-Click` there (RFC 8058) with no
cookie. Repeating it is harmless (the flag stays off)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from affiliates.models import Affiliate
from affiliates.services import turn_off_email
from config.emails import read_token
from emails.catalog import PREFERENCE_LABELS


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    parsed = read_token(token)
    affiliate = None
    if parsed is not None:
        affiliate = Affiliate.objects.filter(public_id=parsed[0]).first()
    if parsed is None or affiliate is None:
        return render(request, "emails/unsubscribe.html", {"invalid": True}, status=404)
    preference = parsed[1]
    done = False
    if request.method == "POST":
        turn_off_email(affiliate=affiliate, preference=preference)
        done = True
    with translation.override(affiliate.email_language):
        return render(
            request,
            "emails/unsubscribe.html",
            {"done": done, "label": PREFERENCE_LABELS[preference], "token": token},
        )
