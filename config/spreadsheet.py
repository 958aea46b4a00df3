"""CSV files that are safe to open in a spreadsheet. Every CSV the project writes goes
through `csv_writer` (or `safe_row`), so a value an affiliate typed — a username, bank
details, a legal name — is never run as a formula on an admin's machine.

OWASP "CSV Injection": a cell that begins with `=`, `+`, `-`, `@`, tab (0x09) or carriage
return (0x0D) may be read as a formula (`=HYPERLINK(…)`, `-2+3+cmd|' /C calc'!A0`); prefix
such a cell with a single quote, which spreadsheets take as "this is text" and do not show.
The csv module already quotes cells with commas, quotes and line breaks.

Decision: a cell that is exactly a plain decimal number (`-12.50`, a clawback in a ledger
export) is left as it is. It cannot carry a formula, and prefixing it would turn every
negative amount into text that a spreadsheet no longer adds up.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value to write in a cell: numbers as they are, text neutralised if it could be
    read as a formula. None becomes an empty cell, as csv writes it."""
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


class SafeWriter:
    """csv.writer whose rows are neutralised cell by cell."""

    def __init__(self, stream: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: Any, **kwargs: Any) -> SafeWriter:
    return SafeWriter(stream, **kwargs)
