"""Reading a query-log or register table as WebIR and offices export it: CSV (UTF-8, UTF-8 with BOM, Big5) or XLSX.

A file is inspected whole before any row is read (size, SHA-256, encoding, binary content), so a file whose
structure is wrong is refused whole (R8.1.1); rows are then streamed, never held in memory together.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine import clock

CHUNK = 1 << 20
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
Progress = Callable[[int], None]


class FileRefused(ValueError):
    """The file as a whole is not an importable table (encoding, header, not a table): nothing was imported."""


class RowInvalid(ValueError):
    """One row is wrong; the message is the reason reported with its line number."""


@dataclass(frozen=True)
class Column:
    """A column of an import format: its key, the header names accepted (Chinese, English), whether required."""

    key: str
    names: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class SourceFile:
    """A file inspected before import: where it is, its size, its SHA-256 and how to read it."""

    path: Path
    size: int
    sha256: str
    file_format: str  # csv-utf-8 | csv-big5 | xlsx
    encoding: str | None


def _header_key(name: object) -> str:
    text = str(name or "").strip().strip("\ufeff").strip().strip('"').strip()
    return re.sub(r"[\s\-]+", "_", text).casefold()


def inspect(path: Path) -> SourceFile:
    """Size, SHA-256 and format of a file; refuse empty, binary, UTF-16 and undecodable files whole."""
    size = path.stat().st_size
    if size == 0:
        raise FileRefused("檔案是空的 The file is empty (0 bytes)")
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        head = stream.read(8)
        stream.seek(0)
        if head.startswith(ZIP_MAGIC):
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                digest.update(chunk)
            return SourceFile(path, size, digest.hexdigest(), "xlsx", None)
        _refuse_known_binary(head)
        encoding = _text_encoding(stream, digest)
    fmt = "csv-big5" if encoding == "cp950" else "csv-utf-8"
    return SourceFile(path, size, digest.hexdigest(), fmt, encoding)


def _refuse_known_binary(head: bytes) -> None:
    if head.startswith(OLE_MAGIC):
        raise FileRefused("不支援舊版 Excel (.xls) 檔 Legacy .xls files are not supported: save as .xlsx or CSV")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused("不支援 UTF-16 編碼 UTF-16 text is not supported: save as UTF-8 or Big5 CSV")


def _text_encoding(stream, digest) -> str:
    """utf-8-sig or cp950 (Big5 as Windows writes it), whichever decodes the whole file; else refuse."""
    decoders = {name: codecs.getincrementaldecoder(name)("strict") for name in ("utf-8-sig", "cp950")}
    offset = 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
        if b"\x00" in chunk:
            where = offset + chunk.index(b"\x00")
            raise FileRefused(f"檔案含二進位資料 Binary data at byte {where}: not a CSV or XLSX table")
        for name, decoder in list(decoders.items()):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                del decoders[name]
        if not decoders:
            raise FileRefused(f"無法辨識的文字編碼 Near byte {offset}: the file is neither UTF-8 nor Big5 text "
                              "(nor XLSX)")
        offset += len(chunk)
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    if not decoders:
        raise FileRefused("檔案結尾編碼不完整 The file ends inside a character: neither UTF-8 nor Big5 text")
    return next(iter(decoders))


def read_table(source: SourceFile, columns: tuple[Column, ...],
               progress: Progress | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, {column key: text or cell value}) per data row; the header is checked before any row."""
    rows = _xlsx_rows(source) if source.file_format == "xlsx" else _csv_rows(source, progress)
    header_line, header = _first_nonblank(rows)
    positions = _column_positions(header, columns, source)
    for line, cells in rows:
        if all(_blank(c) for c in cells):
            continue
        yield line, {key: (cells[i] if i < len(cells) else None) for key, i in positions.items()}


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _first_nonblank(rows: Iterator[tuple[int, list]]) -> tuple[int, list]:
    for line, cells in rows:
        if any(not _blank(c) for c in cells):
            return line, cells
    raise FileRefused("找不到標題列 No header row: the file has no table")


def _column_positions(header: list, columns: tuple[Column, ...], source: SourceFile) -> dict[str, int]:
    """Map each known column to its position; refuse a header that lacks a required column or repeats one."""
    keys = [_header_key(name) for name in header]
    positions: dict[str, int] = {}
    for column in columns:
        found = [i for i, k in enumerate(keys) if k in {_header_key(n) for n in column.names}]
        if len(found) > 1:
            raise FileRefused(f"標題列欄位重複 The header repeats column '{column.names[0]}' ({column.key})")
        if found:
            positions[column.key] = found[0]
    missing = [f"{c.names[0]}|{c.key}" for c in columns if c.required and c.key not in positions]
    if missing:
        read_as = {"csv-big5": " (read as Big5)", "csv-utf-8": " (read as UTF-8)"}.get(source.file_format, "")
        raise FileRefused(f"標題列缺少必要欄位 Missing header column(s): {', '.join(missing)}{read_as}; "
                          "the first row must be the header")
    return positions


def _csv_rows(source: SourceFile, progress: Progress | None) -> Iterator[tuple[int, list]]:
    with source.path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=source.encoding, newline="")
        first = text.readline()
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        text.seek(0)
        reader = csv.reader(text, delimiter=delimiter)
        line = 1
        try:
            for cells in reader:
                yield line, cells
                line = reader.line_num + 1
                if progress and line % 4096 == 0:
                    progress(raw.tell())
        except csv.Error as exc:
            raise FileRefused(f"第 {line} 行 Line {line}: not a CSV table ({exc})") from None
    if progress:
        progress(source.size)


def _xlsx_rows(source: SourceFile) -> Iterator[tuple[int, list]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with source.path.open("rb") as stream:  # a stream: openpyxl would judge a path by its suffix
        try:
            book = load_workbook(stream, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise FileRefused(f"不是有效的 XLSX 檔 Not a valid XLSX workbook ({type(exc).__name__})") from None
        try:
            if not book.worksheets:
                raise FileRefused("XLSX 檔沒有工作表 The workbook has no worksheet")
            for line, cells in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
                yield line, list(cells)
        finally:
            book.close()


def cell_text(value: object, limit: int, label: str, required: bool = True) -> str | None:
    """A cell as trimmed text within `limit` characters; a missing required value is a RowInvalid."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise RowInvalid(f"{label} 未填 is empty")
        return None
    if len(text) > limit:
        raise RowInvalid(f"{label} 超過 {limit} 字 is longer than {limit} characters")
    return text


_MOMENT = re.compile(r"^(\d{1,4})[/\-.](\d{1,2})[/\-.](\d{1,2})"
                     r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
EXCEL_SERIALS = (32874, 109574)  # 1990-01-01 .. 2200-01-01 as Excel day numbers
TIME_FORMATS = "ISO 8601, YYYY/MM/DD HH:MM:SS or ROC 113/05/02 14:03:11"


def parse_moment(value: object, label: str) -> tuple[dt.datetime, bool]:
    """(aware time, date_only) from ISO, `YYYY/MM/DD HH:MM:SS` or ROC-year (1-3 digits, +1911) text or a cell."""
    # Times without an offset are read in the calendar's zone (WEBIR_TIMEZONE, Asia/Taipei).
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=clock.zone())), False
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0, 0), clock.zone()), True
    if isinstance(value, int | float) and not isinstance(value, bool) and EXCEL_SERIALS[0] < value < EXCEL_SERIALS[1]:
        from openpyxl.utils.datetime import from_excel  # a date cell formatted as a number in the workbook

        moment = from_excel(value)
        return moment.replace(tzinfo=clock.zone()), float(value).is_integer()
    text = str(value or "").strip()
    if not text:
        raise RowInvalid(f"{label} 未填 is empty")
    match = _MOMENT.match(text)
    if not match:
        raise RowInvalid(f"{label} '{text[:40]}' 不是有效的日期時間 is not a date-time ({TIME_FORMATS})")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    year_number = int(year) + (1911 if len(year) <= 3 else 0)
    try:
        moment = dt.datetime(year_number, int(month), int(day), int(hour or 0), int(minute or 0),
                             int(second or 0), int((fraction or "0").ljust(6, "0")), tzinfo=_zone(offset))
    except ValueError:
        raise RowInvalid(f"{label} '{text[:40]}' 不是存在的日期時間 is not a real date-time") from None
    if not 1990 <= moment.year <= 2200:
        raise RowInvalid(f"{label} '{text[:40]}' 年份不合理 has an implausible year")
    return moment, hour is None


def _zone(offset: str | None) -> dt.tzinfo:
    if not offset:
        return clock.zone()
    if offset == "Z":
        return dt.UTC
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def epoch(moment: dt.datetime) -> int:
    """Whole seconds since 1970 (UTC) of an aware time."""
    return int(moment.timestamp() // 1)
