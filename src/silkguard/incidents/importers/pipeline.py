"""From a file to parsed, enriched rows: picks the reader and converter for the format, checks
the header before the first row, parses and enriches each row, and flags duplicate ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from silkguard.core.errors import InvalidInput
from silkguard.core.tlp import TLP
from silkguard.incidents.enrich import enrich
from silkguard.incidents.fields import content_hash
from silkguard.incidents.importers.acled import ACLED_LICENCE, check_acled_header, convert_acled
from silkguard.incidents.importers.gtd import GTD_LICENCE, check_gtd_header, convert_gtd
from silkguard.incidents.importers.mapped import ColumnMapping, identity_mapping
from silkguard.incidents.importers.native import ParsedRow, convert_native
from silkguard.incidents.importers.readers import RowStream, open_rows
from silkguard.incidents.parse import RowParser
from silkguard.incidents.vocab import SourceKind

__all__ = ["ImportFormat", "ImportPlan", "parsed_rows", "plan_import"]


class ImportFormat(StrEnum):
    GTD = "gtd"
    ACLED = "acled"
    CSV = "csv"
    JSONL = "jsonl"


@dataclass
class ImportPlan:
    """What an import reads and how it labels what it writes."""

    stream: RowStream
    fmt: ImportFormat
    source_kind: SourceKind
    source_name: str
    licence: str | None
    mapping: ColumnMapping | None
    default_tlp: TLP
    country: str | None


def _file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    return "csv"


def plan_import(
    path: Path,
    *,
    fmt: ImportFormat,
    mapping: ColumnMapping | None = None,
    source_name: str | None = None,
    encoding: str | None = None,
    default_tlp: TLP = TLP.GREEN,
    country: str | None = "Pakistan",
) -> ImportPlan:
    """Open ``path`` and check its header; raises before anything is written."""
    file_kind = "jsonl" if fmt is ImportFormat.JSONL else _file_kind(path)
    if fmt is ImportFormat.JSONL and _file_kind(path) == "xlsx":
        msg = f"{path}: an .xlsx workbook cannot be read as JSON Lines; use `import csv`"
        raise InvalidInput(msg)
    stream = open_rows(
        path,
        fmt=file_kind,
        encoding=encoding or ("auto" if fmt is ImportFormat.GTD else "utf-8"),
        delimiter=mapping.delimiter if mapping else ",",
    )
    try:
        return _plan(stream, path, fmt, file_kind, mapping, source_name, default_tlp, country)
    except BaseException:
        stream.close()
        raise


def _plan(
    stream: RowStream,
    path: Path,
    fmt: ImportFormat,
    file_kind: str,
    mapping: ColumnMapping | None,
    source_name: str | None,
    default_tlp: TLP,
    country: str | None,
) -> ImportPlan:
    licence: str | None = None
    kind = SourceKind.NATIVE
    if fmt is ImportFormat.GTD:
        check_gtd_header(stream.header, path)
        kind, licence, name = SourceKind.GTD, GTD_LICENCE, "GTD"
    elif fmt is ImportFormat.ACLED:
        check_acled_header(stream.header, path)
        kind, licence, name = SourceKind.ACLED, ACLED_LICENCE, "ACLED"
    else:
        if mapping is None and file_kind != "jsonl":
            mapping = identity_mapping(stream.header)
        if mapping is not None and file_kind != "jsonl":
            mapping.check_header(stream.header, path)
        if mapping is not None:
            kind, licence = mapping.source_kind, mapping.licence
        name = (mapping.source_name if mapping else None) or path.stem
    return ImportPlan(
        stream=stream,
        fmt=fmt,
        source_kind=kind,
        source_name=source_name or name,
        licence=licence,
        mapping=mapping,
        default_tlp=default_tlp,
        country=country,
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """The non-empty cells of a row as JSON-safe values (kept as the record's raw payload)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if type(value) is str:  # CSV cells: the common, fast case
            if value:
                out[key] = value
        elif value is None or value == "":
            continue
        elif isinstance(value, dt.date | dt.time):
            out[str(key)] = value.isoformat()
        elif isinstance(value, str | int | float | bool | list | dict):
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
    return out


def _convert(plan: ImportPlan, values: dict[str, Any], parser: RowParser) -> ParsedRow:
    raw = _jsonable(values)
    licence = plan.licence
    if plan.fmt is ImportFormat.GTD:
        ext_id, fields, filtered = convert_gtd(values, parser, country=plan.country)
    elif plan.fmt is ImportFormat.ACLED:
        ext_id, fields, filtered = convert_acled(values, parser, country=plan.country)
    else:
        mapping = plan.mapping
        native = mapping.translate(values) if mapping else dict(values)
        column_of = dict(mapping.columns) if mapping else {}
        fields = convert_native(
            native,
            parser,
            column_of=column_of,
            date_formats=mapping.date_formats if mapping else (),
            list_separator=mapping.list_separator if mapping else ";",
            default_tlp=plan.default_tlp,
        )
        filtered = False
        id_column = mapping.id_column if mapping else "id"
        ext_id = str(values.get(id_column) or "").strip() if id_column else ""
        if not ext_id:
            ext_id = "sha256:" + content_hash(raw)
        licence = str(native.get("licence") or "") or licence
    if fields is not None and not parser.errors:
        parser.errors.extend(enrich(fields, line=parser.line))
    ok = fields is not None and not parser.errors
    digest = ext_id.removeprefix("sha256:") if ext_id.startswith("sha256:") else content_hash(raw)
    return ParsedRow(
        parser.line, ext_id, raw, fields if ok else None, parser.errors, licence, filtered, digest
    )


def parsed_rows(plan: ImportPlan) -> Iterator[ParsedRow]:
    """Every row of the file, parsed and enriched. Repeated ids are found by the writer, in
    the store, so that memory does not grow with the file."""
    for raw_row in plan.stream.rows:
        if raw_row.error is not None:
            yield ParsedRow(raw_row.line, "", {}, None, [raw_row.error])
            continue
        yield _convert(plan, raw_row.values, RowParser(raw_row.line))
