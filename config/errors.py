"""Errors services raise for bad input or a refused action; the API maps them to 4xx JSON."""


class ServiceError(Exception):
    """A request the domain refuses. Nothing was written when this is raised.

    `code` is a stable machine-readable string; `message` is for humans; `fields` maps
    input field names to lists of messages; `status` is the HTTP status the API answers.
    """

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"
