"""Staff-only previews of every registered e-mail: the list, and one e-mail's subject, text
and HTML in any of settings.LANGUAGES, rendered from its sample data (emails.catalog). The
HTML shows in a sandboxed iframe (srcdoc), so an e-mail's markup never runs in the admin."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from config import emails as registry
from config.emails import unsubscribe_url
from emails.catalog import sample_affiliate


def email_list(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "E-mails",
        "emails": registry.all_emails(),
        "languages": settings.LANGUAGES,
    }
    return TemplateResponse(request, "admin/emails/list.html", context)


def email_preview(request: HttpRequest, name: str) -> HttpResponse:
    try:
        email = registry.get(name)
    except KeyError:
        raise Http404("No such e-mail") from None
    languages = dict(settings.LANGUAGES)
    language = request.GET.get("lang", settings.LANGUAGE_CODE)
    if language not in languages:
        language = settings.LANGUAGE_CODE
    url = unsubscribe_url(affiliate=sample_affiliate(), preference=email.preference)
    rendered = registry.render(name, context=email.sample(), language=language, unsubscribe_url=url)
    context = {
        **admin.site.each_context(request),
        "title": f"E-mail preview: {name}",
        "email": email,
        "language": language,
        "languages": settings.LANGUAGES,
        "rendered": rendered,
    }
    return TemplateResponse(request, "admin/emails/preview.html", context)
