"""The root Typer app and the one place where silkguard errors become CLI messages."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from silkguard.core.errors import SilkguardError

__all__ = ["app"]


class _ErrorMappingGroup(TyperGroup):
    """Shows a :class:`SilkguardError` as ``Error: <message>`` on stderr and exits with the
    error class's code (2 invalid input, 3 not found, 4 conflict, 5 not allowed, ...)."""

    def invoke(self, ctx: Any) -> Any:  # typer's Context type is private to its vendored click
        try:
            return super().invoke(ctx)
        except SilkguardError as exc:
            typer.echo(f"Error: {exc.msg}", err=True)
            raise typer.Exit(exc.exit_code) from exc


app = typer.Typer(
    cls=_ErrorMappingGroup,
    name="silkguard",
    help="silkguard: incident intelligence, risk, movements and duty of care for a corridor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
