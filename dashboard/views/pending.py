"""TEMPORARY (branch `dash` only, never on main): the routes of issue 11 whose pages are
being built in parallel; each is replaced by its real view before the merge."""

from django.http import HttpRequest, HttpResponse


def not_built(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("not built yet", status=501, content_type="text/plain")
