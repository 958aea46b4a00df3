"""Request parsers for the API."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python's recursion limit (`[[[[…]]]]`,
        a few kB) is a parse error: DRF catches only ValueError and let the RecursionError
        through as a 500. `config.api.exception_handler` answers every parse error with its own
    message, never the decoder's text."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("The JSON body is nested too deeply.") from exc
