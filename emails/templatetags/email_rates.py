"""`{{ rate_bp|rate_percent }}`: basis points as the active language writes a percentage
figure (2050 → "20.5", de "20,5"), the dashboard's formatting (dashboard.selectors.ledger)."""

from django import template

from dashboard.selectors.ledger import format_bp

register = template.Library()


@register.filter
def rate_percent(rate_bp: int | None) -> str:
    return "—" if rate_bp is None else format_bp(int(rate_bp))
