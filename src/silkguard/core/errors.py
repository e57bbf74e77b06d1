"""The one error hierarchy. Edges map it once: to CLI messages with an exit code, to HTTP
problem documents. A message says what is wrong, where, what is accepted and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Conflict",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "RowError",
    "RowErrors",
    "ServiceUnavailable",
    "SilkguardError",
    "Unauthenticated",
]


class SilkguardError(Exception):
    """Base of every error silkguard raises on purpose."""

    http_status: int = 500
    exit_code: int = 1
    title: str = "Internal error"

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class InvalidInput(SilkguardError):
    """Bad input; ``field`` names the parameter at fault when there is one (the API lists it
    in the problem document's ``invalid_params``)."""

    http_status = 422
    exit_code = 2
    title = "Invalid input"

    def __init__(self, msg: str, *, field: str | None = None) -> None:
        super().__init__(msg)
        self.field = field


class NotFound(SilkguardError):
    http_status = 404
    exit_code = 3
    title = "Not found"


class Conflict(SilkguardError):
    http_status = 409
    exit_code = 4
    title = "Conflict"


class Unauthenticated(SilkguardError):
    http_status = 401
    exit_code = 5
    title = "Authentication required"


class PermissionDenied(SilkguardError):
    http_status = 403
    exit_code = 5
    title = "Permission denied"


class PayloadTooLarge(SilkguardError):
    http_status = 413
    exit_code = 2
    title = "Payload too large"


class RateLimited(SilkguardError):
    http_status = 429
    exit_code = 6
    title = "Too many requests"

    def __init__(self, msg: str, *, retry_after_s: float = 60.0) -> None:
        super().__init__(msg)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(SilkguardError):
    http_status = 503
    exit_code = 7
    title = "Service unavailable"


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad row of an input file: where it is, what is wrong and how to fix it."""

    line: int
    column: str | None
    value: str | None
    reason: str
    fix: str = ""

    def describe(self, source: str = "") -> str:
        where = f"{source}:{self.line}" if source else f"line {self.line}"
        col = f", column {self.column!r}" if self.column else ""
        val = f", value {self.value!r}" if self.value is not None else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}{col}{val}: {self.reason}.{fix}"


class RowErrors(InvalidInput):
    """An input file with bad rows. Nothing was written."""

    SHOWN_LIMIT = 50

    def __init__(self, source: str, errors: list[RowError], *, total_bad: int = 0) -> None:
        self.source = source
        self.errors = errors
        self.total_bad = max(total_bad, len(errors))
        lines = [e.describe(source) for e in errors[: self.SHOWN_LIMIT]]
        more = self.total_bad - len(lines)
        if more > 0:
            lines.append(f"... and {more} more bad rows (--skip-bad --rejects FILE lists them all)")
        head = (
            f"{source}: {self.total_bad} bad row(s); nothing was imported, the store is "
            "unchanged. Fix the rows, or import the good ones with --skip-bad."
        )
        super().__init__("\n".join([head, *lines]))


class IntegrityError(SilkguardError):
    """Stored data failed an integrity check (a broken audit hash chain). Not to be confused
    with ``sqlalchemy.exc.IntegrityError`` (a violated database constraint)."""

    http_status = 500
    exit_code = 8
    title = "Integrity check failed"
