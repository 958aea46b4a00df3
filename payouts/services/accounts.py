"""Where an affiliate's money goes and who it is: the payout method (PayPal e-mail, bank
details; Stripe Connect's is in services.onboarding), tax details, and the admin's holds.

Every change of method or details needs the affiliate's password (or a staff member with
the change permission and a reason), starts the 48 h payout hold, is audited and e-mailed
to the affiliate at the address on file."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from affiliates.models import Affiliate, User
from config.emails import send_to_address, send_to_affiliate
from config.errors import NotFound, ServiceError
from payouts.models import PayoutAccount, new_token
from payouts.services.history import audit

# What changed, as the notice names it (the audit log keeps the English key).
_WHAT = {
    "PayPal e-mail": gettext_lazy("PayPal e-mail"),
    "bank details": gettext_lazy("bank details"),
    "Stripe Connect": gettext_lazy("Stripe Connect"),
}


def ensure_account(*, affiliate: Affiliate) -> PayoutAccount:
    """The affiliate's account row, created empty (method none) if it has none yet.

    Only the writes of payout details call it (here and in services.onboarding), first
    thing: the row exists from the affiliate's first attempt to set payout details,
    accepted or refused (an empty row means what no row means). Pages never create it:
    they read payouts.selectors.payout_account."""
    account, _created = PayoutAccount.objects.get_or_create(affiliate=affiliate)
    return account


def require_password(user: User, password: str | None) -> None:
    if not password or not check_password(password, user.password):
        raise ServiceError(
            _("Enter your current password to change payout details."),
            code="wrong_password",
            fields={"password": [_("Wrong password.")]},
            status=403,
        )


def _authorise_change(
    *, affiliate: Affiliate, password: str | None, staff: User | None, reason: str
) -> User:
    """Who may change an affiliate's payout details, and the actor the audit records.

    The affiliate itself: with its current password (an open session alone is not enough).
    A staff member (Program manager's admin action): no affiliate password — the staff member
    is authenticated by the admin — but the change permission and a written reason; the hold,
    the audit (with the staff member as actor) and the e-mail to the affiliate stay."""
    if staff is None:
        require_password(affiliate.user, password)
        return affiliate.user
    if not (staff.is_active and staff.is_staff and staff.has_perm("payouts.change_payoutaccount")):
        raise ServiceError(
            "You may not change payout details.", code="permission_denied", status=403
        )
    if not reason.strip():
        raise ServiceError(
            "Say why the payout details are changed.", fields={"reason": [_("Required.")]}
        )
    return staff


def _check_length(value: str, *, field: str, max_length: int) -> None:
    # Forms enforce these first; the service checks again because it is the one way in
    # (a value longer than its column is a 400 here, never a database error and a 500).
    if len(value) > max_length:
        raise ServiceError(
            _("At most %(count)d characters.") % {"count": max_length},
            fields={field: [_("At most %(count)d characters.") % {"count": max_length}]},
        )


def hold_notice(hours: int) -> str:
    return ngettext(
        "For your safety, payouts are held for %(hours)d hour after a change.",
        "For your safety, payouts are held for %(hours)d hours after a change.",
        hours,
    ) % {"hours": hours}


def details_changed_context(
    *, what: str, now: datetime, reason: str = "", by_staff: bool = False
) -> dict[str, Any]:
    """What templates/emails/payout_details_changed/ reads (the catalog's sample uses it too).
    The labels stay lazy so the template renders them in the affiliate's language; the hold
    sentence too, in Python: its msgids say %(hours)d, which {% blocktranslate %} cannot."""
    return {
        "what": _WHAT.get(what, what),
        "when": f"{now:%Y-%m-%d %H:%M}",
        "reason": reason,
        "by_staff": by_staff,
        "hold_notice": lazy(hold_notice, str)(settings.PAYOUT_DETAILS_HOLD_HOURS),
    }


def record_details_changed(
    *,
    account: PayoutAccount,
    now: datetime,
    what: str,
    actor: Any,
    reason: str = "",
    by_staff: bool = False,
) -> None:
    """Any change of method or details: start the 48 h hold and tell the affiliate, at the
    address on file (an attacker who changed the details does not read that mailbox)."""
    account.details_changed_at = now
    account.updated_at = now
    affiliate = account.affiliate
    details: dict[str, Any] = {"what": what}
    if by_staff:
        details.update(by="staff", reason=reason[:500])
    audit(action="payout_details_changed", affiliate=affiliate, actor=actor, now=now, **details)
    # A security notice: always sent (no preference turns it off), in the affiliate's language.
    context = details_changed_context(what=what, now=now, reason=reason, by_staff=by_staff)
    send_to_affiliate("payout_details_changed", affiliate=affiliate, context=context)


def set_paypal_email(
    *,
    affiliate: Affiliate,
    email: str,
    now: datetime,
    password: str | None = None,
    staff: User | None = None,
    reason: str = "",
) -> PayoutAccount:
    """PayPal: the e-mail must be confirmed by the link we send to it before first use
    (also when staff set it: whoever reads that inbox confirms, and the affiliate is told)."""
    account_pk = ensure_account(affiliate=affiliate).pk
    actor = _authorise_change(affiliate=affiliate, password=password, staff=staff, reason=reason)
    # Only spaces are trimmed: a CR/LF kept in the value fails the validator below.
    email = email.strip(" ").lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(
            _("Enter a valid PayPal e-mail address."),
            fields={"paypal_email": [_("Enter a valid e-mail address.")]},
        ) from None
    _check_length(email, field="paypal_email", max_length=254)
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        if account.method == PayoutAccount.Method.PAYPAL and account.paypal_email == email:
            return account
        account.method = PayoutAccount.Method.PAYPAL
        account.paypal_email = email
        account.paypal_confirmed_at = None
        account.paypal_confirm_token = new_token()
        record_details_changed(
            account=account,
            now=now,
            what="PayPal e-mail",
            actor=actor,
            reason=reason,
            by_staff=staff is not None,
        )
        account.save()
        link = settings.AMBASSADOR_URL + reverse(
            "payouts-paypal-confirm", args=[account.paypal_confirm_token]
        )
        # To the new PayPal address (whoever reads it confirms), in the affiliate's language.
        send_to_address(
            "paypal_confirm",
            to=email,
            language=affiliate.email_language,
            context={"paypal_email": email, "confirm_url": link},
        )
    return account


def confirm_paypal_email(*, token: str, now: datetime) -> PayoutAccount:
    with transaction.atomic():
        account = (
            PayoutAccount.objects.select_for_update()
            .filter(paypal_confirm_token=token)
            .exclude(paypal_confirm_token="")
            .first()
        )
        if account is None:
            raise NotFound(_("This confirmation link is not valid (any more)."))
        account.paypal_confirmed_at = now
        account.paypal_confirm_token = ""
        account.updated_at = now
        account.save()
    return account


BANK_DETAILS_MAX_LENGTH = 1000  # a free-text TextField; the limit is ours, not the column's


def set_manual_details(
    *,
    affiliate: Affiliate,
    bank_details: str,
    now: datetime,
    password: str | None = None,
    staff: User | None = None,
    reason: str = "",
) -> PayoutAccount:
    account_pk = ensure_account(affiliate=affiliate).pk
    actor = _authorise_change(affiliate=affiliate, password=password, staff=staff, reason=reason)
    bank_details = bank_details.strip()
    if not bank_details:
        raise ServiceError(_("Enter your bank details."), fields={"bank_details": [_("Required.")]})
    _check_length(bank_details, field="bank_details", max_length=BANK_DETAILS_MAX_LENGTH)
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        account.method = PayoutAccount.Method.MANUAL
        account.bank_details = bank_details
        record_details_changed(
            account=account,
            now=now,
            what="bank details",
            actor=actor,
            reason=reason,
            by_staff=staff is not None,
        )
        account.save()
    return account


def set_tax_details(
    *,
    affiliate: Affiliate,
    legal_name: str,
    country: str,
    tax_id: str,
    tax_form: str,
    now: datetime,
    password: str | None = None,
    staff: User | None = None,
    reason: str = "",
) -> PayoutAccount:
    """Kept for the admin's records; does not change where money goes, so no payout hold.
    Audited; when staff change them the affiliate is told (it is its legal identity)."""
    account_pk = ensure_account(affiliate=affiliate).pk
    actor = _authorise_change(affiliate=affiliate, password=password, staff=staff, reason=reason)
    if tax_form not in PayoutAccount.TaxForm.values:
        raise ServiceError(
            _("Unknown tax form."), fields={"tax_form": [_("Choose W-9, W-8BEN or W-8BEN-E.")]}
        )
    legal_name, country, tax_id = legal_name.strip(), country.strip().upper(), tax_id.strip()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise ServiceError(
            _("Country: two letters (ISO 3166)."), fields={"tax_country": [_("Two letters.")]}
        )
    _check_length(legal_name, field="tax_legal_name", max_length=200)
    _check_length(tax_id, field="tax_id", max_length=64)
    with transaction.atomic():
        account = PayoutAccount.objects.select_for_update().get(pk=account_pk)
        account.tax_legal_name = legal_name
        account.tax_country = country
        account.tax_id = tax_id
        account.tax_form = tax_form
        account.updated_at = now
        account.save()
        details = {"by": "staff", "reason": reason[:500]} if staff is not None else {}
        audit(action="tax_details_changed", affiliate=affiliate, actor=actor, now=now, **details)
        if staff is not None:
            context = {"when": f"{now:%Y-%m-%d %H:%M}", "reason": reason}
            send_to_affiliate("tax_details_changed", affiliate=affiliate, context=context)
    return account


def hold_affiliate(*, affiliate: Affiliate, reason: str, actor: Any, now: datetime) -> None:
    account = ensure_account(affiliate=affiliate)
    account.on_hold, account.hold_reason, account.updated_at = True, reason[:200], now
    account.save()
    audit(action="payout_hold", affiliate=affiliate, actor=actor, now=now, reason=reason)


def release_affiliate(*, affiliate: Affiliate, actor: Any, now: datetime) -> None:
    account = ensure_account(affiliate=affiliate)
    account.on_hold, account.hold_reason, account.updated_at = False, "", now
    account.save()
    audit(action="payout_release", affiliate=affiliate, actor=actor, now=now)
