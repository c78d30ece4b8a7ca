"""One import, start to finish: read the file, map every row, report problems
with file/line/column, then merge into the campaign — all or nothing.

A dry run does the whole merge inside a transaction and rolls it back, so the
counts it shows are exactly what applying will do."""

import gc
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from ..models import Campaign, ImportRun
from . import formats
from .merge import MergeResult, merge_in_python, refresh_reward_counts
from .problems import Problem, UnreadableFile
from .reading import read_sheets

PROGRESS_EVERY = 5000
MAX_PROBLEMS_KEPT = 5000

Progress = Callable[[str, int, int], None]  # (phase, done, total estimate)


class NeedsMapping(Exception):
    """The file is in no known layout and no column mapping was given."""

    def __init__(self, header: list[str], sheet: str):
        super().__init__(f"{sheet}: the columns match no known report; map them first")
        self.header = header
        self.sheet = sheet


class _DryRun(Exception):
    """Raised to roll the dry run's writes back."""


@dataclass
class ImportOutcome:
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    problem_count: int = 0
    blocking: int = 0
    problems: list[Problem] = field(default_factory=list)
    samples: dict = field(default_factory=dict)
    diff: dict = field(default_factory=dict)
    formats: list[str] = field(default_factory=list)
    applied: bool = False
    open_duplicates: int = 0

    @property
    def ok(self) -> bool:
        return self.blocking == 0

    def counts(self) -> dict:
        return {
            "rows": self.rows,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "problems": self.problem_count,
            "blocking": self.blocking,
            "open_duplicates": self.open_duplicates,
        }


def _uncompressed_size(path: Path) -> int:
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        pass
    return path.stat().st_size


def peek_header(path: Path, *, original_name: str) -> tuple[str, list[str], list[list[str]]]:
    """The first sheet's name, header and up to 20 rows: for the mapping screen."""
    for sheet in read_sheets(
        path, original_name=original_name, max_bytes=settings.IMPORT_MAX_BYTES
    ):
        rows = []
        for _line, cells in sheet.rows:
            rows.append(cells)
            if len(rows) == 20:
                break
        close = getattr(sheet.rows, "close", None)
        if close:
            close()
        return sheet.name, sheet.header, rows
    raise UnreadableFile.about(original_name, "The file holds no table.")


def parse_file(
    *,
    campaign: Campaign,
    path: Path,
    original_name: str,
    fmt: str = "auto",
    mapping: dict | None = None,
    outcome: ImportOutcome,
    progress: Progress | None = None,
) -> Iterator[tuple[formats.BackerRecord, int]]:
    """Yield (record, line) for every good row; problems land in `outcome`."""
    total = _uncompressed_size(path)
    chars = 0
    seen: dict[tuple[str, str], tuple[str, int]] = {}

    def problem(p: Problem) -> None:
        outcome.problem_count += 1
        outcome.blocking += p.blocking
        if len(outcome.problems) < MAX_PROBLEMS_KEPT:
            outcome.problems.append(p)

    try:
        sheets = read_sheets(path, original_name=original_name, max_bytes=settings.IMPORT_MAX_BYTES)
        for sheet in sheets:
            sheet_fmt = formats.detect_format(sheet.header) if fmt in ("auto", "") else fmt
            if sheet_fmt in (formats.UNKNOWN, "mapped", "other"):
                if not mapping:
                    raise NeedsMapping(sheet.header, sheet.name)
                errors = formats.ColumnMapping(mapping).errors(sheet.header)
                if errors:
                    for message in errors:
                        problem(Problem(file=sheet.name, line=1, column=None, message=message))
                    continue
                mapper = formats.RowMapper("other", sheet.header, file=sheet.name, mapping=mapping)
                sheet_fmt = "mapped"
            else:
                try:
                    mapper = formats.RowMapper(
                        sheet_fmt,
                        sheet.header,
                        file=sheet.name,
                        sheet_reward=formats.parse_kickstarter_filename(sheet.name),
                    )
                except ValueError as exc:
                    # The layout chosen on the form does not fit this file's columns.
                    problem(
                        Problem(
                            file=sheet.name,
                            line=1,
                            column=None,
                            message=f"the columns do not fit the layout chosen ({exc}); "
                            "choose “Detect from the header” or map the columns",
                        )
                    )
                    continue
            if sheet_fmt not in outcome.formats:
                outcome.formats.append(sheet_fmt)
            for line, cells in sheet.rows:
                outcome.rows += 1
                if progress and outcome.rows % 64 == 1:
                    # A sample of row sizes is enough to estimate the row count.
                    chars += 64 * (sum(map(len, cells)) + len(cells))
                if progress and outcome.rows % PROGRESS_EVERY == 0:
                    estimate = max(outcome.rows, int(outcome.rows * total / max(chars, 1)))
                    progress("reading", outcome.rows, estimate)
                record, problems = mapper.map(cells, line)
                for p in problems:
                    problem(p)
                if record is None:
                    continue
                if record.currency and record.currency != campaign.currency:
                    problem(
                        Problem(
                            file=sheet.name,
                            line=line,
                            column="Pledge Amount",
                            message=f"the amount is in {record.currency}; "
                            f"the campaign is in {campaign.currency}",
                        )
                    )
                    continue
                too_big = _beyond_limits(record)
                if too_big:
                    column, message = too_big
                    problem(Problem(file=sheet.name, line=line, column=column, message=message))
                    continue
                key = (record.platform, record.platform_backer_id)
                if key in seen:
                    first_file, first_line = seen[key]
                    where = (
                        f"line {first_line}"
                        if first_file == sheet.name
                        else f"{first_file} line {first_line}"
                    )
                    problem(
                        Problem(
                            file=sheet.name,
                            line=line,
                            column=None,
                            message=f"backer {record.platform_backer_id} appears twice "
                            f"(first on {where})",
                        )
                    )
                    continue
                seen[key] = (sheet.name, line)
                yield record, line
    except UnreadableFile as exc:
        problem(exc.problem)


# What the database columns hold; a value past these is a problem of its row,
# reported like any other, never a crash of the whole import.
TEXT_LIMITS = {
    "platform_backer_id": ("Backer id", 64),
    "name": ("Name", 300),
    "email": ("Email", 254),
    "reward_platform_id": ("Reward ID", 64),
    "reward_title": ("Reward", 300),
    "shipping_name": ("Shipping name", 300),
    "shipping_address_1": ("Shipping address 1", 300),
    "shipping_address_2": ("Shipping address 2", 300),
    "shipping_city": ("Shipping city", 200),
    "shipping_region": ("Shipping state", 200),
    "shipping_postal_code": ("Shipping postal code", 40),
    "shipping_phone": ("Shipping phone", 60),
}
AMOUNT_LIMIT = Decimal("9999999999.99")  # MoneyField(max_digits=12, decimal_places=2)
AMOUNTS = {
    "pledge_amount": "Pledge amount",
    "shipping_paid": "Shipping amount",
    "bonus_support": "Bonus support",
    "reward_minimum": "Reward minimum",
}
BACKER_NUMBER_LIMIT = 2**31 - 1


def _beyond_limits(record) -> tuple[str, str] | None:
    for name, (label, limit) in TEXT_LIMITS.items():
        value = getattr(record, name) or ""
        if len(value) > limit:
            return label, f"is {len(value)} characters long; at most {limit} fit"
    for name, label in AMOUNTS.items():
        value = getattr(record, name)
        if value is not None and abs(value) > AMOUNT_LIMIT:
            return label, f"{value} is larger than any pledge can be"
    if record.backer_number is not None and not 0 <= record.backer_number <= BACKER_NUMBER_LIMIT:
        return "Backer number", f"{record.backer_number} is not a backer number"
    return None


def choose_strategy() -> str:
    return "postgres" if connection.vendor == "postgresql" else "python"


def import_file(
    *,
    campaign: Campaign,
    path: Path,
    original_name: str,
    fmt: str = "auto",
    mapping: dict | None = None,
    run: ImportRun | None = None,
    apply: bool = False,
    progress: Progress | None = None,
    strategy: str | None = None,
    source: str = "campaign",
) -> ImportOutcome:
    """Check (and with `apply`, write) one file. Nothing is written when any row has
    a blocking problem, nor ever by a dry run."""

    outcome = ImportOutcome()
    strategy = strategy or choose_strategy()
    # Hundreds of thousands of short-lived records would wake the cycle collector
    # again and again; nothing here makes reference cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(
            campaign=campaign,
            path=path,
            original_name=original_name,
            fmt=fmt,
            mapping=mapping,
            run=run,
            apply=apply,
            progress=progress,
            strategy=strategy,
            outcome=outcome,
            source=source,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _import(
    *, campaign, path, original_name, fmt, mapping, run, apply, progress, strategy, outcome, source
):
    from ..duplicates import flag_duplicates

    records = parse_file(
        campaign=campaign,
        path=path,
        original_name=original_name,
        fmt=fmt,
        mapping=mapping,
        outcome=outcome,
        progress=progress,
    )
    try:
        with transaction.atomic():
            if strategy == "postgres":
                from .merge_pg import merge_in_postgres

                result = merge_in_postgres(
                    campaign=campaign,
                    run=run,
                    records=records,
                    skip_merge=lambda: apply and not outcome.ok,
                    progress=progress,
                    source=source,
                )
            else:
                rows = list(records)  # every row is parsed before anything is written
                if progress:
                    progress("merging", outcome.rows, outcome.rows)
                skip = apply and not outcome.ok
                result = (
                    None
                    if skip
                    else merge_in_python(campaign=campaign, run=run, records=rows, source=source)
                )
            if result is not None:
                refresh_reward_counts(campaign=campaign)
                outcome.open_duplicates = flag_duplicates(campaign=campaign)
                _fill(outcome, result)
            if not (apply and outcome.ok):
                raise _DryRun
            outcome.applied = True
    except _DryRun:
        pass
    return outcome


def _fill(outcome: ImportOutcome, result: MergeResult) -> None:
    outcome.new, outcome.updated, outcome.unchanged = result.new, result.updated, result.unchanged
    outcome.samples = result.samples
    outcome.diff = result.as_diff()
