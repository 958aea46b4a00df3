"""Forms for every change of payout details: the affiliate's settings page (one form per
section) and the Program manager's "Change payout destination…" admin page.

Every field has a length limit no longer than its column and refuses control characters,
so a bad value is a form error — never a database error (a 500) or a half-written row. A
CR/LF in an e-mail address is refused by Django's EmailValidator, which also keeps a second
address or a header out of the confirmation e-mail.
"""

from __future__ import annotations

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from payouts.models import PayoutAccount
from payouts.services import BANK_DETAILS_MAX_LENGTH

# A password is hashed on every attempt; an unbounded one is a denial of service (Django
# capped passwords at 4096 characters for the same reason).
PASSWORD_MAX_LENGTH = 4096
# Line breaks and tabs are how people write bank details in a textarea.
MULTILINE_ALLOWED = {"\n", "\r", "\t"}


def _refuse_control_characters(value: str, *, allowed: set[str] = frozenset()) -> None:
    # Cc: C0/C1 controls (NUL breaks PostgreSQL text; CR/LF forge lines in CSVs and mail).
    # Cf: invisible format characters (bidi overrides, zero-width) that make a bank detail
    # read differently from what it is. Cs: lone surrogates, which UTF-8 cannot store.
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Cs"):
            raise ValidationError(
                _("Remove the control or invisible character (U+%(code)04X)."),
                code="control_character",
                params={"code": ord(char)},
            )


def single_line(value: str) -> None:
    _refuse_control_characters(value)


def multi_line(value: str) -> None:
    _refuse_control_characters(value, allowed=MULTILINE_ALLOWED)


class TextField(forms.CharField):
    """A CharField that refuses control characters in the value as posted: CharField
    strips first, which would silently drop a trailing vertical tab or NEL and accept the
    rest, so the check runs before."""

    def __init__(self, *, multiline: bool = False, **kwargs) -> None:
        self.check = multi_line if multiline else single_line
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            self.check(value)
        return super().to_python(value)


class AddressField(forms.EmailField):
    """Django's EmailField, except that a CR/LF or other control character is refused
    wherever it is: EmailField strips the value first, silently dropping a trailing CRLF."""

    def to_python(self, value):
        if isinstance(value, str):
            single_line(value)
        return super().to_python(value)


class CountryField(forms.RegexField):
    def __init__(self, **kwargs) -> None:
        super().__init__(
            regex=r"\A[A-Za-z]{2}\Z",  # \Z: "$" would also match before a trailing newline
            max_length=_max_length("tax_country"),
            required=False,
            error_messages={"invalid": _("Two letters (ISO 3166), e.g. DE.")},
            **kwargs,
        )


def _max_length(field: str) -> int:
    return PayoutAccount._meta.get_field(field).max_length


class PasswordForm(forms.Form):
    """The affiliate's current password: every change of payout details asks for it."""

    password = TextField(max_length=PASSWORD_MAX_LENGTH, strip=False)


class PayPalForm(PasswordForm):
    paypal_email = AddressField(max_length=_max_length("paypal_email"))


class ManualForm(PasswordForm):
    bank_details = TextField(max_length=BANK_DETAILS_MAX_LENGTH, multiline=True)


class StripeForm(PasswordForm):
    pass


class TaxForm(PasswordForm):
    tax_legal_name = TextField(max_length=_max_length("tax_legal_name"), required=False)
    tax_country = CountryField()
    tax_id = TextField(max_length=_max_length("tax_id"), required=False)
    tax_form = forms.ChoiceField(choices=PayoutAccount.TaxForm.choices, required=False)


# The settings page: its hidden `action` picks the form.
SETTINGS_FORMS: dict[str, type[PasswordForm]] = {
    "paypal": PayPalForm,
    "manual": ManualForm,
    "stripe": StripeForm,
    "tax": TaxForm,
}


class StaffChangeForm(forms.Form):
    """A Program manager changes an affiliate's payout details for it (the affiliate lost
    access, asked by phone…). No affiliate password; a reason, kept in the audit log and
    written in the e-mail the affiliate gets. The 48 h hold starts as for any change."""

    WHAT = [
        ("paypal", _("PayPal e-mail")),
        ("manual", _("Bank details (bank transfer)")),
        ("tax", _("Tax details")),
    ]
    what = forms.ChoiceField(choices=WHAT, widget=forms.RadioSelect)
    paypal_email = AddressField(max_length=_max_length("paypal_email"), required=False)
    bank_details = TextField(
        max_length=BANK_DETAILS_MAX_LENGTH,
        required=False,
        multiline=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tax_legal_name = TextField(max_length=_max_length("tax_legal_name"), required=False)
    tax_country = CountryField()
    tax_id = TextField(max_length=_max_length("tax_id"), required=False)
    tax_form = forms.ChoiceField(choices=PayoutAccount.TaxForm.choices, required=False)
    reason = TextField(
        max_length=500, help_text=_("Why (kept in the audit log and sent to the affiliate).")
    )

    def clean(self):
        data = super().clean()
        what = data.get("what")
        if what == "paypal" and not data.get("paypal_email"):
            self.add_error("paypal_email", _("Required for a PayPal change."))
        if what == "manual" and not data.get("bank_details"):
            self.add_error("bank_details", _("Required for a bank-details change."))
        return data
