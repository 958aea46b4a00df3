"""The referral list's fast date formatter writes exactly what Django's dateformat writes,
for every language's SHORT_DATE_FORMAT and any moment, and falls back to dateformat for
formats it does not cover."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import dateformat, translation
from django.utils.formats import get_format
from hypothesis import given
from hypothesis import strategies as st

from dashboard.views.ledger import short_date_formatter

MOMENTS = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@given(moment=MOMENTS)
def test_each_languages_short_date_is_what_dateformat_writes(moment):
    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            fmt = get_format("SHORT_DATE_FORMAT")
            assert short_date_formatter(fmt)(moment) == dateformat.format(moment, fmt), code


@given(
    moment=MOMENTS,
    fmt=st.sampled_from(["j F Y", "Y年n月j日", "d.m.y", r"\d m Y", "N j, Y", "d%m%Y", "D d/m/Y"]),
)
def test_other_formats_fall_back_to_dateformat(moment, fmt):
    assert short_date_formatter(fmt)(moment) == dateformat.format(moment, fmt)
