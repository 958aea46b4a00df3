"""Admin form fields for money and rates: people type "108.00" and "12.5 %", the database keeps
integer minor units and basis points.

A money input shows its amount without a currency code or grouping (so it can be edited as it
stands: "1080.50", JPY "1080", KWD "1.250") and reads what people type in the active
language: en "1,080.50" or "1080.5", de "1.080,50", a code on either side ("USD 108"). A
figure with more decimals than the currency has ("12.345" USD, "108.5" JPY) is refused, not
rounded: the admin must never store an amount nobody typed. A rate reads "20", "20 %" or
"12.5%" (basis points are hundredths of a percent, so two decimals at most).

`MoneyRateFieldsMixin` puts the fields on a ModelAdmin or an inline by field name. It sits in
the config kernel (it knows no app's models) beside config.money, whose exponents and
per-language marks it uses. For a user who may view but not change (the Support group), the
same fields read as money ("USD 108.00", config.money.format_money) and percentages
("15 %") rather than the stored integers: Django renders a view-only page's fields through
`display_for_field`, which knows no units, so the mixin swaps each such field for a display
function of its own (`shown_<field>`, labelled with the field's name).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from config.money import NBSP, NNBSP, MoneyStyle, exponent, format_money, money_style

MAX_MONEY = 10**12  # minor units: the ledger's own bound (commissions.services.bounds)
MAX_BP = 2**31 - 1  # PositiveIntegerField's ceiling on every backend


def _number(text: str, style: MoneyStyle) -> tuple[bool, str, str] | None:
    """ "-1,080.50" → (negative, "1080", "50"); None when it is not a number as `style` writes
    it. Groups must be three digits ("1,08" is a typo, not 108)."""
    groups = re.escape("".join({style.group, " ", NBSP, NNBSP} - {style.decimal}))
    pattern = (
        rf"(?P<sign>[-−]?)\s*(?P<int>[0-9]{{1,3}}(?:[{groups}][0-9]{{3}})+|[0-9]*)"
        rf"(?:{re.escape(style.decimal)}(?P<frac>[0-9]+))?"
    )
    match = re.fullmatch(pattern, text)
    if match is None or not (match["int"] or match["frac"]):
        return None
    whole = re.sub(rf"[{groups}]", "", match["int"]) or "0"
    return bool(match["sign"]), whole, match["frac"] or ""


def money_input(amount: int, currency: str, language: str | None = None) -> str:
    """Minor units as an input shows them: 108000 USD → "1080.00" (de "1080,00"), JPY "1080"."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 10**places)
    if not places:
        return f"{sign}{major}"
    return f"{sign}{major}{money_style(language).decimal}{minor:0{places}d}"


def parse_money(text: str, currency: str, language: str | None = None) -> int:
    """What a person typed → minor units of `currency`, exactly; ValidationError otherwise."""
    currency = currency.upper()
    style = money_style(language)
    code = re.escape(currency)
    bare = re.sub(rf"^{code}|{code}$", "", text.strip(), flags=re.IGNORECASE).strip()
    parsed = _number(bare, style)
    if parsed is None:
        example = money_input(108050, currency, language)
        raise ValidationError(
            _("Enter an amount in %(currency)s, such as %(example)s.")
            % {"currency": currency, "example": example},
            code="invalid",
        )
    negative, whole, fraction = parsed
    places = exponent(currency)
    if len(fraction) > places:
        message = (
            _("%(currency)s amounts have at most %(places)d decimals.")
            if places
            else _("%(currency)s amounts have no decimals.")
        )
        raise ValidationError(message % {"currency": currency, "places": places}, code="precision")
    amount = int(whole) * 10**places + int(fraction.ljust(places, "0") or 0)
    return -amount if negative else amount


def rate_input(bp: int, language: str | None = None) -> str:
    """Basis points as an input shows them: 2000 → "20 %", 1250 → "12.5 %" (de "12,5 %")."""
    sign = "-" if bp < 0 else ""
    whole, hundredths = divmod(abs(int(bp)), 100)
    fraction = f"{hundredths:02d}".rstrip("0")
    mark = money_style(language).decimal
    return f"{sign}{whole}{mark + fraction if fraction else ''} %"


def parse_rate(text: str, language: str | None = None) -> int:
    """ "20", "20 %", "12.5%" → basis points (2000, 2000, 1250); ValidationError otherwise."""
    parsed = _number(re.sub(r"\s*%$", "", text.strip()), money_style(language))
    if parsed is None:
        raise ValidationError(
            _("Enter a percentage, such as %(example)s.") % {"example": rate_input(1250, language)},
            code="invalid",
        )
    negative, whole, fraction = parsed
    if len(fraction) > 2:
        raise ValidationError(_("A rate has at most 2 decimals (0.01 %)."), code="precision")
    bp = int(whole) * 100 + int(fraction.ljust(2, "0"))
    return -bp if negative else bp


class _UnitField(forms.Field):
    """A text input for an integer stored in a smaller unit than it is typed in."""

    widget = forms.TextInput

    def __init__(self, *, min_value: int | None = 0, max_value: int | None = None, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "inputmode": "decimal", "size": 14}

    def parse(self, text: str) -> int:
        raise NotImplementedError

    def show(self, value: int) -> str:
        raise NotImplementedError

    def prepare_value(self, value: Any) -> Any:
        # Bound data comes back as typed (a wrong entry is shown to be corrected); stored
        # integers are shown in the typed unit.
        if isinstance(value, int) and not isinstance(value, bool):
            return self.show(value)
        return value

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return self.parse(str(value))

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(
                _("Enter %(limit)s or more.") % {"limit": self.show(self.min_value)},
                code="min_value",
            )
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(
                _("Enter %(limit)s or less.") % {"limit": self.show(self.max_value)},
                code="max_value",
            )


class MoneyField(_UnitField):
    """Integer minor units of `currency`, typed and shown as an amount ("108.00")."""

    def __init__(self, *, currency: str, max_value: int | None = MAX_MONEY, **kwargs):
        self.currency = currency.upper()
        super().__init__(max_value=max_value, **kwargs)

    def parse(self, text: str) -> int:
        return parse_money(text, self.currency)

    def show(self, value: int) -> str:
        return money_input(value, self.currency)


class RateField(_UnitField):
    """Integer basis points, typed and shown as a percentage ("12.5 %")."""

    def __init__(self, *, max_value: int | None = MAX_BP, **kwargs):
        super().__init__(max_value=max_value, **kwargs)

    def parse(self, text: str) -> int:
        return parse_rate(text)

    def show(self, value: int) -> str:
        return rate_input(value)


SHOWN_PREFIX = "shown_"


class MoneyRateFieldsMixin:
    """For a ModelAdmin or an inline: the integer model fields named in `money_fields`
    (minor units of `money_currency`, the program currency by default) and `rate_fields`
    (basis points) are edited as amounts and percentages."""

    money_fields: Collection[str] = ()
    rate_fields: Collection[str] = ()
    money_currency: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The view-only renderings (`shown_<field>`), looked up by name on the admin as
        # Django looks up any display function in a fieldset.
        for name in (*self.money_fields, *self.rate_fields):
            setattr(self, SHOWN_PREFIX + name, self._display(name))

    def _display(self, name: str) -> Any:
        field = self.model._meta.get_field(name)  # type: ignore[attr-defined]
        is_money = name in self.money_fields

        def show(obj: models.Model) -> str:
            value = getattr(obj, name)
            if value is None:
                return "—"
            if is_money:
                return format_money(int(value), self.money_currency or settings.PROGRAM_CURRENCY)
            return rate_input(int(value))

        show.short_description = capfirst(field.verbose_name)  # type: ignore[attr-defined]
        return show

    def _view_only(self, request, obj: Any) -> bool:
        # As Django decides a change page is view-only: an existing object the user may not
        # change (the add page is left alone: whoever may add types the figures).
        return (
            request is not None and obj is not None and not self.has_change_permission(request, obj)  # type: ignore[attr-defined]
        )

    def _shown(self, names: Any) -> Any:
        """A fieldset's `fields` with the money and rate names swapped for their displays
        (a line of several fields is a tuple; a name shown twice is kept once)."""
        units = {*self.money_fields, *self.rate_fields}
        out: list[Any] = []
        for name in names:
            if isinstance(name, list | tuple):
                out.append(type(name)(self._shown(name)))
            elif isinstance(name, str) and name in units:
                if SHOWN_PREFIX + name not in out:
                    out.append(SHOWN_PREFIX + name)
            elif name not in out:
                out.append(name)
        return out

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if not self._view_only(request, obj):
            return fieldsets
        return [
            (title, {**opts, "fields": self._shown(opts["fields"])}) for title, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if not self._view_only(request, obj):
            return readonly
        # Inlines build their formset from the fieldsets less these: the displays are no
        # model fields, so they must be named read-only too.
        return [
            *readonly,
            *(SHOWN_PREFIX + n for n in (*self.money_fields, *self.rate_fields)),
        ]

    def formfield_for_dbfield(self, db_field: models.Field, request, **kwargs):
        if db_field.name in self.money_fields:
            currency = self.money_currency or settings.PROGRAM_CURRENCY
            return db_field.formfield(
                form_class=MoneyField,
                currency=currency,
                min_value=0,
                max_value=MAX_MONEY,
                help_text=_("In %(currency)s, such as %(example)s.")
                % {"currency": currency, "example": money_input(10800, currency)},
                **kwargs,
            )
        if db_field.name in self.rate_fields:
            return db_field.formfield(
                form_class=RateField,
                min_value=0,
                max_value=MAX_BP,
                help_text=_("A percentage, such as %(example)s.") % {"example": rate_input(1250)},
                **kwargs,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
