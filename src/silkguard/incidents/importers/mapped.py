"""Column mappings (``--map mapping.toml``) that let any incident table import without editing
the file: which column holds each native field, value translations and constants.
The format is documented in docs/mappings.md."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.incidents.importers.native import NATIVE_FIELDS, REQUIRED_FIELDS
from silkguard.incidents.vocab import SourceKind

__all__ = ["ColumnMapping", "identity_mapping", "load_mapping"]

_SECTIONS = {"source", "columns", "formats", "values", "constants"}
_SOURCE_KEYS = {"kind", "name", "licence", "id_column"}
_FORMAT_KEYS = {"date", "delimiter", "list_separator", "url_separator"}
_TARGETS = tuple(f for f in NATIVE_FIELDS if f not in {"id", "source_name", "licence"})


@dataclass(frozen=True)
class ColumnMapping:
    """How the columns of one table become native incident fields."""

    source_kind: SourceKind = SourceKind.NATIVE
    source_name: str | None = None
    licence: str | None = None
    id_column: str | None = "id"
    columns: dict[str, str] = field(default_factory=dict)  # target field -> file column
    date_formats: tuple[str, ...] = ()
    delimiter: str = ","
    list_separator: str = ";"
    url_separator: str | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)

    def check_header(self, header: list[str], path: Path) -> None:
        """Fail before any row is read when the file lacks a mapped column."""
        wanted = dict(self.columns)
        if self.id_column:
            wanted["id"] = self.id_column
        missing = sorted({col for col in wanted.values() if col not in header})
        if missing:
            shown = ", ".join(repr(c) for c in missing)
            have = ", ".join(header[:40])
            msg = (
                f"{path}:1: the header lacks the column(s) {shown}; the file has: {have}. "
                "Fix the mapping's [columns] (or [source] id_column) or the file's header"
            )
            raise InvalidInput(msg)
        absent = [f for f in REQUIRED_FIELDS if f not in self.columns and f not in self.constants]
        if absent:
            msg = (
                f"{path}: no column gives the required field(s) {', '.join(absent)}; "
                "name the column under [columns] or set a value under [constants]"
            )
            raise InvalidInput(msg)

    def translate(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The native values of one file row (renamed, translated, constants added)."""
        out: dict[str, Any] = dict(self.constants)
        for target, column in self.columns.items():
            value = row.get(column)
            table = self.values.get(target)
            if table is not None and isinstance(value, str):
                value = table.get(value.strip(), value)
            if target == "source_url" and self.url_separator and isinstance(value, str):
                value = value.split(self.url_separator)[0].strip()
            out[target] = value
        return out


def identity_mapping(header: list[str], *, kind: SourceKind = SourceKind.NATIVE) -> ColumnMapping:
    """The native schema: every known column maps to itself."""
    columns = {f: f for f in _TARGETS if f in header}
    return ColumnMapping(source_kind=kind, columns=columns, id_column="id")


def _fail(path: Path, where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{path}: {where}: {problem} (see docs/mappings.md)")


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _fail(path, f"[{key}]", "must be a table")
    return value


def _delimiter(path: Path, value: object) -> str:
    text = "\t" if value in ("\\t", "tab") else str(value)
    if len(text) != 1:
        raise _fail(path, "[formats] delimiter", "must be one character, e.g. ';' or 'tab'")
    return text


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate a mapping file; every problem names the section and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{path}: no such mapping file; check the --map path"
        raise InvalidInput(msg) from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, "TOML syntax", str(exc)) from exc
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise _fail(
            path, "top level", f"unknown section(s) {unknown}; allowed: {sorted(_SECTIONS)}"
        )
    source = _table(data, "source", path)
    columns = _table(data, "columns", path)
    formats = _table(data, "formats", path)
    values = _table(data, "values", path)
    constants = _table(data, "constants", path)
    for section, keys, allowed in (
        ("source", source, _SOURCE_KEYS),
        ("formats", formats, _FORMAT_KEYS),
        ("columns", columns, set(_TARGETS)),
        ("values", values, set(_TARGETS)),
        ("constants", constants, set(_TARGETS)),
    ):
        bad = sorted(set(keys) - allowed)
        if bad:
            raise _fail(path, f"[{section}]", f"unknown key(s) {bad}; allowed: {sorted(allowed)}")
    for target, column in columns.items():
        if not isinstance(column, str) or not column:
            raise _fail(path, f"[columns] {target}", "must be the name of a column (a string)")
    for target, table in values.items():
        if not isinstance(table, dict):
            raise _fail(path, f"[values.{target}]", "must be a table of source = ours")
    try:
        kind = SourceKind(str(source.get("kind", "native")))
        if kind is SourceKind.POOL:
            raise ValueError("pool records are made by silkguard only")
    except ValueError:
        accepted = ", ".join(k.value for k in SourceKind if k is not SourceKind.POOL)
        raise _fail(path, "[source] kind", f"must be one of {accepted}") from None
    date_formats = formats.get("date", ())
    if isinstance(date_formats, str):
        date_formats = (date_formats,)
    return ColumnMapping(
        source_kind=kind,
        source_name=source.get("name"),
        licence=source.get("licence"),
        id_column=source.get("id_column"),
        columns=dict(columns),
        date_formats=tuple(date_formats),
        delimiter=_delimiter(path, formats.get("delimiter", ",")),
        list_separator=str(formats.get("list_separator", ";")),
        url_separator=formats.get("url_separator"),
        values={k: {str(a): b for a, b in v.items()} for k, v in values.items()},
        constants=dict(constants),
    )
