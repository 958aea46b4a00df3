"""`{% waiting_applications as count %}` for the admin home: how many applications wait in
the queue (one COUNT on the status column), and the queue's URL."""

from __future__ import annotations

from django import template
from django.urls import reverse

from affiliates.models import Affiliate

register = template.Library()


@register.simple_tag(takes_context=True)
def waiting_applications(context) -> dict | None:
    """None for someone who may not read affiliates (so the home shows nothing)."""
    request = context.get("request")
    if request is None or not request.user.has_perm("affiliates.view_affiliate"):
        return None
    count = Affiliate.objects.filter(status=Affiliate.Status.APPLIED).count()
    url = reverse("admin:affiliates_affiliate_changelist") + "?status__exact=applied"
    return {"count": count, "url": url}
