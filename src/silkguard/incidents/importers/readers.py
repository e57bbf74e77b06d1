"""Streaming readers that yield one raw row at a time with its line number, so memory stays
flat whatever the file size. Structural problems (no header, wrong encoding, a truncated line)
become errors that name the file and line."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from silkguard.core.errors import InvalidInput, RowError

__all__ = ["RawRow", "RowStream", "detect_encoding", "open_rows"]

_CHUNK_BYTES = 1 << 20
csv.field_size_limit(10 * _CHUNK_BYTES)


@dataclass(slots=True)
class RawRow:
    line: int
    values: dict[str, Any]
    error: RowError | None = None  # a structural problem with this row (short row, bad JSON)


@dataclass
class RowStream:
    """Rows of one file plus what is known before the first row: the header and the size."""

    path: Path
    header: list[str]
    rows: Iterator[RawRow]
    size_bytes: int
    position: Callable[[], int]
    close: Callable[[], None] = lambda: None


def detect_encoding(path: Path) -> str:
    """``utf-8`` if the whole file decodes as UTF-8, else ``latin-1`` (GTD's own encoding)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return "latin-1"
    return "utf-8"


def _first_bad_utf8_line(path: Path) -> int:
    """The line of the first byte that is not UTF-8 (readers decode ahead of the row)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _utf8_error(path: Path, line: int, exc: UnicodeDecodeError) -> InvalidInput:
    bad = exc.object[exc.start : exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
    line = _first_bad_utf8_line(path) if path.exists() else line
    msg = (
        f"{path}:{line}: the file is not valid UTF-8 (byte 0x{bad}); nothing was imported. "
        "Re-save it as UTF-8, or pass --encoding latin-1 (or cp1252) if that is how it was written"
    )
    return InvalidInput(msg)


def _csv_rows(
    path: Path, encoding: str, fh: IO[bytes], delimiter: str
) -> tuple[list[str], Iterator[RawRow]]:
    text = codecs.getreader("utf-8-sig" if encoding == "utf-8" else encoding)(fh, "strict")
    reader = csv.reader(text, strict=True, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        msg = f"{path}: the file is empty; expected a header row naming the columns on line 1"
        raise InvalidInput(msg) from None
    except UnicodeDecodeError as exc:
        raise _utf8_error(path, 1, exc) from exc
    header = [h.strip() for h in header]
    if not any(header):
        msg = f"{path}:1: the header row is blank; the first line must name the columns"
        raise InvalidInput(msg)
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        msg = f"{path}:1: the header names these columns twice: {', '.join(dupes)}; rename them"
        raise InvalidInput(msg)

    def rows() -> Iterator[RawRow]:
        width = len(header)
        line = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise _utf8_error(path, reader.line_num + 1, exc) from exc
            except csv.Error as exc:
                msg = (
                    f"{path}:{reader.line_num}: the CSV structure is broken ({exc}); a quoted "
                    "cell is not closed, or the file was cut off. Nothing was imported: repair "
                    "or remove that line"
                )
                raise InvalidInput(msg) from exc
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != width:
                yield RawRow(
                    line,
                    {},
                    RowError(
                        line,
                        None,
                        None,
                        f"the row has {len(cells)} cells but the header has {width} columns "
                        "(a truncated line, or an unquoted comma in a cell)",
                        "complete the row or quote cells that contain commas",
                    ),
                )
                continue
            yield RawRow(line, dict(zip(header, cells, strict=True)))

    return header, rows()


def _jsonl_rows(path: Path, fh: IO[bytes]) -> tuple[list[str], Iterator[RawRow]]:
    def rows() -> Iterator[RawRow]:
        for line_no, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise _utf8_error(path, line_no, exc) from exc
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                reason = f"not valid JSON ({exc.msg} at column {exc.colno})"
                if not text.endswith("\n"):
                    reason += "; the last line looks cut off"
                fix = "each line must be one complete JSON object"
                yield RawRow(line_no, {}, RowError(line_no, None, text[:80], reason, fix))
                continue
            if not isinstance(value, dict):
                reason = f"a JSON {type(value).__name__}, not an object"
                yield RawRow(line_no, {}, RowError(line_no, None, text[:80], reason, "use {...}"))
                continue
            yield RawRow(line_no, value)

    if path.stat().st_size == 0:
        msg = f"{path}: the file is empty; expected one JSON object per line"
        raise InvalidInput(msg)
    return [], rows()


def _xlsx_rows(path: Path) -> tuple[list[str], Iterator[RawRow]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        msg = f"{path}: not a readable .xlsx workbook ({exc}); export the sheet again"
        raise InvalidInput(msg) from exc
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    first = next(it, None)
    if first is None:
        book.close()
        msg = f"{path}: the first sheet is empty; expected a header row on row 1"
        raise InvalidInput(msg)
    header = ["" if h is None else str(h).strip() for h in first]

    def rows() -> Iterator[RawRow]:
        try:
            for row_no, cells in enumerate(it, start=2):
                if all(c is None for c in cells):
                    continue
                values = {
                    h: ("" if c is None else c) for h, c in zip(header, cells, strict=False) if h
                }
                yield RawRow(row_no, values)
        finally:
            book.close()

    return header, rows()


def open_rows(path: Path, *, fmt: str, encoding: str = "utf-8", delimiter: str = ",") -> RowStream:
    """Open ``path`` as ``csv``, ``xlsx`` or ``jsonl`` and stream its rows.

    ``encoding`` is ``utf-8``, ``auto`` (UTF-8 if valid, else latin-1) or any codec name.
    """
    if not path.exists():
        msg = f"{path}: no such file; check the path"
        raise InvalidInput(msg)
    size = path.stat().st_size
    if fmt == "xlsx":
        header, rows = _xlsx_rows(path)
        return RowStream(path, header, rows, size, lambda: 0, getattr(rows, "close", lambda: None))
    if encoding == "auto":
        encoding = detect_encoding(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        msg = f"encoding {encoding!r} is unknown; use utf-8, latin-1, cp1252 or auto"
        raise InvalidInput(msg) from None
    fh = path.open("rb")
    try:
        if fmt == "jsonl":
            header, rows = _jsonl_rows(path, fh)
        elif fmt == "csv":
            header, rows = _csv_rows(path, encoding, fh, delimiter)
        else:
            msg = f"file format {fmt!r} is unknown; use csv, xlsx or jsonl"
            raise InvalidInput(msg)
    except BaseException:
        fh.close()
        raise

    def closing() -> Iterator[RawRow]:
        try:
            yield from rows
        finally:
            fh.close()

    return RowStream(path, header, closing(), size, fh.tell, fh.close)
