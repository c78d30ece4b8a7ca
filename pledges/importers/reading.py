"""Turning an uploaded file into sheets of text rows, whatever its container and encoding.

A file is a ZIP of CSVs (Kickstarter's backer report), an Excel workbook (.xlsx), or
one CSV/TSV in any encoding a spreadsheet program writes. Everything streams: rows are
decoded while they are iterated, so a 200 MB report never sits in memory whole.
Whatever the bytes, reading raises nothing but UnreadableFile.
"""

import codecs
import contextlib
import csv
import io
import math
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from .problems import UnreadableFile

SAMPLE_BYTES = 64 * 1024
# A physical line longer than this is not a backer report (and would sit in memory whole).
MAX_LINE_CHARS = 1024 * 1024
MIB = 1024 * 1024
# A CSV compresses 5-20:1; far beyond that on a large member is a ZIP bomb.
MAX_RATIO = 100
RATIO_CHECKED_ABOVE = MIB
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
# In order of preference when two appear equally often in the header line.
DELIMITERS = (",", "\t", ";", "|")
FALLBACK_ERRORS = "pledgeport-cp1252-fallback"

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NOT_TEXT = (
    (b"\xd0\xcf\x11\xe0", "This is an old Excel .xls workbook; save it as .xlsx or CSV."),
    (b"%PDF", "This is a PDF; upload the CSV, ZIP or Excel backer report."),
    (b"\x1f\x8b", "This is a gzip archive; upload a ZIP, CSV or Excel file."),
    (b"Rar!", "This is a RAR archive; upload a ZIP, CSV or Excel file."),
    (b"7z\xbc\xaf\x27\x1c", "This is a 7-Zip archive; upload a ZIP, CSV or Excel file."),
)
_DRIVE = re.compile(r"^[A-Za-z]:")
# Control bytes no spreadsheet writes into text (TAB, LF, FF, CR and ESC aside).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def _decode_undecodable(error: UnicodeError) -> tuple[str, int]:
    """Bytes that are not valid in the detected encoding are read as Windows-1252, and
    the five bytes cp1252 leaves undefined as Latin-1: a report pasted together from a
    UTF-8 and an Excel file keeps its "Tyresö" instead of failing at line 200,000."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad), error.end


codecs.register_error(FALLBACK_ERRORS, _decode_undecodable)


@dataclass
class Sheet:
    """One table of a file: a CSV (inside a ZIP or alone) or one worksheet of a workbook.

    `rows` yields (line, cells): the 1-based physical line in the file where the row
    starts (the row number in a worksheet). Fully blank rows are skipped; cells are kept
    as read, so short and long rows reach the caller, who reports them.
    """

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]


def read_sheets(
    path: Path,
    *,
    original_name: str,
    max_bytes: int,
    max_unzipped_bytes: int | None = None,
    max_members: int = 200,
) -> Iterator[Sheet]:
    """Yield every sheet of an uploaded file, lazily; problems raise UnreadableFile.

    The kind of file is told by its first bytes, never its name: a ZIP holding
    ``[Content_Types].xml`` and ``xl/`` is an Excel workbook, any other ZIP a report ZIP
    whose ``.csv``/``.tsv``/``.txt`` members are read in name order (``__MACOSX/`` and
    dotfiles skipped), anything else a CSV/TSV text.

    A workbook yields every worksheet that has a row, each as its own Sheet, named
    ``"backers.xlsx (Sheet title)"`` when the workbook has several worksheets and
    ``"backers.xlsx"`` when it has one. Worksheet rows are padded with empty cells to the
    header's width (Excel has no "short row"); cells beyond it are dropped when blank.

    ZIPs are checked before anything is unpacked: the file size against `max_bytes`,
    unsafe member names, links, nested ZIPs, passwords, more than `max_members` members,
    declared unpacked size against `max_unzipped_bytes` (default 2 × `max_bytes`) and a
    compression ratio above 100:1 on members over 1 MiB; the bytes actually unpacked
    are counted too, as the sizes in a ZIP's directory can lie.

    Rows of earlier sheets stay readable while later sheets are taken; iterating a
    sheet's rows to the end (or dropping them) releases its file.
    """
    if max_unzipped_bytes is None:
        max_unzipped_bytes = 2 * max_bytes
    size = path.stat().st_size
    if size > max_bytes:
        unit = _unit_for(max_bytes)
        raise UnreadableFile.about(
            original_name,
            f"The file is {_megabytes(size, unit, up=True)} MB; "
            f"the limit is {_megabytes(max_bytes, unit)} MB.",
        )
    if size == 0:
        raise UnreadableFile.about(original_name, "The file is empty.")
    with path.open("rb") as file:
        head = file.read(8)
    if head.startswith(_ZIP_MAGIC):
        yield from _read_zip(
            path,
            original_name=original_name,
            max_unzipped_bytes=max_unzipped_bytes,
            max_members=max_members,
        )
        return
    sheet = _read_text(original_name, lambda sample: path.open("rb"))
    if sheet is None:
        raise UnreadableFile.about(original_name, "The file has no rows.")
    yield sheet


# --- sizes ---------------------------------------------------------------------------


def _unit_for(limit: int) -> int:
    """Say megabytes the way the limit was set: 200_000_000 → 10⁶, 200 × 1024² → MiB."""
    return 1_000_000 if limit % 1_000_000 == 0 and limit % MIB else MIB


def _megabytes(size: int, unit: int, *, up: bool = False) -> str:
    value = math.ceil(size * 10 / unit) / 10 if up else size / unit
    return f"{value:.1f}".removesuffix(".0")


# --- ZIP -----------------------------------------------------------------------------


class _Budget:
    """Bytes unpacked so far from one ZIP, across all its members."""

    def __init__(self, limit: int, archive_name: str):
        self.limit = limit
        self.used = 0
        self.archive_name = archive_name


class _CountingReader(io.RawIOBase):
    """A member of a ZIP read as it is unpacked, counting what comes out."""

    def __init__(self, raw: BinaryIO, *, name: str, budget: _Budget, member_limit: int):
        super().__init__()
        self._raw = raw
        self._name = name
        self._budget = budget
        self._member_limit = member_limit
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._raw.read(len(buffer))
        except Exception as exc:  # zlib, bz2, lzma and zipfile each raise their own kind
            raise UnreadableFile.about(
                self._name, "The file cannot be unpacked; the ZIP is damaged or cut short."
            ) from exc
        size = len(data)
        self._count += size
        self._budget.used += size
        if self._count > self._member_limit:
            raise UnreadableFile.about(
                self._name,
                f"The file unpacks to more than {MAX_RATIO} times its packed size; "
                "this looks like a ZIP bomb, not a report.",
            )
        if self._budget.used > self._budget.limit:
            unit = _unit_for(self._budget.limit)
            raise UnreadableFile.about(
                self._budget.archive_name,
                f"The ZIP unpacks to more than {_megabytes(self._budget.limit, unit)} MB, "
                "the limit.",
            )
        buffer[:size] = data
        return size

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def _member_name(info: zipfile.ZipInfo) -> str:
    """The name as the creator sees it: ZIPs made without the UTF-8 flag (Windows,
    older tools) often still hold UTF-8 names, which zipfile decodes as cp437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeError):
            name = name.encode("cp437").decode("utf-8")
    return name


def _is_unsafe(name: str) -> bool:
    # An empty name is what zipfile leaves of one that starts with a NUL byte.
    if not name or name.startswith(("/", "\\")) or _DRIVE.match(name):
        return True
    return ".." in re.split(r"[\\/]", name)


def _is_skipped(name: str) -> bool:
    parts = [p for p in re.split(r"[\\/]", name) if p]
    return not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts)


def _check_members(
    infos: list[zipfile.ZipInfo],
    *,
    archive_name: str,
    max_unzipped_bytes: int,
    max_members: int | None,
) -> None:
    if max_members is not None and len(infos) > max_members:
        raise UnreadableFile.about(
            archive_name, f"The ZIP holds {len(infos)} files; the limit is {max_members}."
        )
    total = 0
    for info in infos:
        name = _member_name(info)
        if _is_unsafe(info.filename):
            raise UnreadableFile.about(
                archive_name, f"The ZIP holds a file with an unsafe name: {name!r}."
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnreadableFile.about(
                archive_name, f"The ZIP holds a link ({name!r}); only plain files are read."
            )
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise UnreadableFile.about(
                archive_name, f"{name!r} in the ZIP is password-protected; zip it without one."
            )
        if not _is_skipped(name) and name.lower().endswith(".zip"):
            raise UnreadableFile.about(
                archive_name,
                f"The ZIP holds another ZIP ({name!r}); upload the backer report ZIP itself.",
            )
        total += info.file_size
        if info.file_size > RATIO_CHECKED_ABOVE and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise UnreadableFile.about(
                archive_name,
                f"{name!r} in the ZIP is packed more than {MAX_RATIO}:1; "
                "this looks like a ZIP bomb, not a report.",
            )
    if total > max_unzipped_bytes:
        unit = _unit_for(max_unzipped_bytes)
        raise UnreadableFile.about(
            archive_name,
            f"The ZIP unpacks to {_megabytes(total, unit, up=True)} MB; "
            f"the limit is {_megabytes(max_unzipped_bytes, unit)} MB.",
        )


def _read_zip(
    path: Path, *, original_name: str, max_unzipped_bytes: int, max_members: int
) -> Iterator[Sheet]:
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except Exception as exc:  # zipfile raises many kinds on a damaged directory
        raise UnreadableFile.about(
            original_name,
            "The file looks like a ZIP but cannot be opened; it may be damaged or cut short.",
        ) from exc
    with archive:
        names = {info.filename for info in infos}
        is_workbook = "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)
        _check_members(
            infos,
            archive_name=original_name,
            max_unzipped_bytes=max_unzipped_bytes,
            max_members=None if is_workbook else max_members,
        )
        if not is_workbook:
            members = [
                info
                for info in infos
                if not info.is_dir()
                and not _is_skipped(_member_name(info))
                and _member_name(info).lower().endswith(TEXT_SUFFIXES)
            ]
            if not members:
                raise UnreadableFile.about(original_name, "The ZIP holds no CSV file.")
            members.sort(key=lambda info: _member_name(info).casefold())
            budget = _Budget(max_unzipped_bytes, original_name)
            found = False
            for info in members:
                name = _member_name(info)
                sheet = _read_text(name, _member_opener(archive, info, name, budget))
                if sheet is not None:
                    found = True
                    yield sheet
            if not found:
                raise UnreadableFile.about(original_name, "The CSV files in the ZIP are empty.")
            return
    yield from _read_workbook(path, original_name)


def _member_opener(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: _Budget
) -> Callable[[bool], BinaryIO]:
    member_limit = max(RATIO_CHECKED_ABOVE, MAX_RATIO * info.compress_size)

    def open_member(sample: bool) -> BinaryIO:
        try:
            raw = archive.open(info)
        except Exception as exc:  # bad local header, unsupported compression, …
            raise UnreadableFile.about(
                name,
                "The file cannot be unpacked; the ZIP is damaged or uses an unusual compression.",
            ) from exc
        # The sample read to detect the encoding is not counted twice against the budget.
        counting = _CountingReader(
            raw,
            name=name,
            budget=_Budget(SAMPLE_BYTES, name) if sample else budget,
            member_limit=member_limit,
        )
        return io.BufferedReader(counting, buffer_size=SAMPLE_BYTES)

    return open_member


# --- text ----------------------------------------------------------------------------


def _detect_encoding(sample: bytes, *, complete: bool) -> tuple[str, str]:
    """Codec and error handler for a file, judged on its first bytes."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", FALLBACK_ERRORS
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", "replace"
    # Excel's "Unicode text" is UTF-16LE with a BOM (and TABs).
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "replace"
    pairs = len(sample) // 2
    if pairs >= 2:
        even_nuls = sample[0 : pairs * 2 : 2].count(0)
        odd_nuls = sample[1 : pairs * 2 : 2].count(0)
        if odd_nuls > pairs * 0.3 and even_nuls < pairs * 0.05:
            return "utf-16-le", "replace"
        if even_nuls > pairs * 0.3 and odd_nuls < pairs * 0.05:
            return "utf-16-be", "replace"
    try:
        # Incremental, so a character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return "cp1252", FALLBACK_ERRORS
    return "utf-8", FALLBACK_ERRORS


def _sniff_delimiter(text: str) -> str:
    """The delimiter that appears most often, outside quotes, in the first non-blank
    line; csv.Sniffer guesses wrong on headers with few columns or many spaces."""
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    content = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
            content = True
        elif in_quotes:
            continue
        elif char in "\r\n":
            if content:
                break
        elif char in counts:
            counts[char] += 1
            content = True
        elif not char.isspace():
            content = True
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


def _physical_lines(text: io.TextIOWrapper, name: str) -> Iterator[str]:
    readline = text.readline
    number = 0
    while True:
        line = readline(MAX_LINE_CHARS)
        if not line:
            return
        number += 1
        if len(line) >= MAX_LINE_CHARS and line[-1] not in "\r\n":
            raise UnreadableFile.about(
                name,
                f"The line is longer than {MAX_LINE_CHARS:,} characters; "
                "this is not a backer report.",
                line=number,
            )
        if "\x00" in line:
            # NUL bytes are padding or damage, never content.
            line = line.replace("\x00", "")
        yield line


def _csv_records(reader, name: str) -> Iterator[tuple[int, list[str]]]:
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                message = (
                    f"A cell is longer than {csv.field_size_limit():,} characters; "
                    "is a quote character never closed?"
                )
            else:
                message = f"The line cannot be split into cells ({exc})."
            raise UnreadableFile.about(name, message, line=start) from exc
        if row:
            first = row[0]
            if (first and not first.isspace()) or "".join(row).strip():
                yield start, row


class _Rows:
    """A sheet's row iterator that releases its file when exhausted, failed or dropped."""

    __slots__ = ("_rows", "_release")

    def __init__(self, rows: Iterator[tuple[int, list[str]]], release: Callable[[], None]):
        self._rows = rows
        self._release: Callable[[], None] | None = release

    def __iter__(self):
        return self

    def __next__(self) -> tuple[int, list[str]]:
        try:
            return next(self._rows)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            close_rows = getattr(self._rows, "close", None)
            if close_rows is not None:
                close_rows()
            release()

    def __del__(self):
        self.close()


def _read_text(name: str, open_binary: Callable[[bool], BinaryIO]) -> Sheet | None:
    """A CSV/TSV sheet, or None when the text has no non-blank row.

    `open_binary(sample)` opens the bytes from the start; it is called twice, for the
    sample that tells encoding and delimiter, then for the stream of rows."""
    with open_binary(True) as raw:
        sample = raw.read(SAMPLE_BYTES)
    if not sample:
        return None
    if sample.startswith(_ZIP_MAGIC):
        raise UnreadableFile.about(
            name, "This file is itself a ZIP; upload the backer report ZIP or its CSV files."
        )
    for magic, message in _NOT_TEXT:
        if sample.startswith(magic):
            raise UnreadableFile.about(name, message)
    encoding, errors = _detect_encoding(sample, complete=len(sample) < SAMPLE_BYTES)
    controls = len(sample.translate(None, _NOT_CONTROL_BYTES))
    if not encoding.startswith(("utf-16", "utf-32")) and controls > len(sample) // 100:
        raise UnreadableFile.about(
            name, "This is not a CSV, ZIP or Excel file: it holds binary data."
        )
    head = codecs.getincrementaldecoder(encoding)(errors).decode(sample, final=False)
    delimiter = _sniff_delimiter(head.lstrip("\ufeff"))
    text = io.TextIOWrapper(open_binary(False), encoding=encoding, errors=errors, newline="")
    try:
        rows = _csv_records(csv.reader(_physical_lines(text, name), delimiter=delimiter), name)
        first = next(rows, None)
    except BaseException:
        text.close()
        raise
    if first is None:
        text.close()
        return None
    header = first[1]
    header[0] = header[0].lstrip("\ufeff")
    return Sheet(name=name, header=header, rows=_Rows(rows, text.close))


# --- Excel ---------------------------------------------------------------------------


def _cell_text(value) -> str:
    """A worksheet value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        text = f"{value:.15g}"
        return format(Decimal(text), "f") if "e" in text else text
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


class _Shared:
    """Closes the workbook once the outer reader and every sheet's rows are done."""

    def __init__(self, close: Callable[[], None]):
        self._close = close
        self._holders = 1

    def hold(self) -> None:
        self._holders += 1

    def release(self) -> None:
        self._holders -= 1
        if self._holders == 0:
            self._close()


def _worksheet_records(worksheet, name: str) -> Iterator[tuple[int, list[str]]]:
    width = None
    number = 0
    try:
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if not "".join(cells).strip():
                continue
            if width is None:
                while cells and not cells[-1].strip():
                    cells.pop()
                width = len(cells)
            elif len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            elif len(cells) > width and not "".join(cells[width:]).strip():
                del cells[width:]
            yield number, cells
    except UnreadableFile:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged XML
        raise UnreadableFile.about(
            name,
            "The worksheet cannot be read; save the workbook again or export it as CSV.",
            line=number + 1,
        ) from exc


def _read_workbook(path: Path, original_name: str) -> Iterator[Sheet]:
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        worksheets = list(workbook.worksheets)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise UnreadableFile.about(
            original_name,
            "This looks like an Excel workbook but cannot be read; save it again or export CSV.",
        ) from exc
    shared = _Shared(workbook.close)
    try:
        found = False
        for worksheet in worksheets:
            name = f"{original_name} ({worksheet.title})" if len(worksheets) > 1 else original_name
            try:
                worksheet.reset_dimensions()
            except Exception as exc:
                raise UnreadableFile.about(name, "The worksheet cannot be read.") from exc
            rows = _worksheet_records(worksheet, name)
            first = next(rows, None)
            if first is None:
                continue
            found = True
            shared.hold()
            yield Sheet(name=name, header=first[1], rows=_Rows(rows, shared.release))
        if not found:
            raise UnreadableFile.about(original_name, "The workbook has no rows.")
    finally:
        shared.release()
