"""OpenAPI schema generation (drf-spectacular)."""

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    """Names each component after its view: the style nests `InputSerializer` and
    `OutputSerializer` inside every API view (HackSoft), which would otherwise all become the
    colliding components "Input" and "Output"."""

    def get_serializer_name(self, serializer, direction) -> str:
        qualname = type(serializer).__qualname__  # e.g. "PaymentApi.InputSerializer"
        outer, _, inner = qualname.rpartition(".")
        if outer:
            outer = outer.split(".")[0].removesuffix("Api")
            return f"{outer}{inner}"
        return super().get_serializer_name(serializer, direction)
