"""Rate cards: a carrier's prices uploaded as CSV (or a workbook), for the
margin check.

Columns (header names, any order, case and spaces ignored):
    zone_or_country   a zone of the campaign by name, or a country (DE, Germany)
    up_to_g           a parcel up to this weight, in whole grams
    cost              what the carrier charges, in the campaign's currency

The file is checked whole: every problem is reported with its line and column,
and a file with any problem keeps nothing (all or nothing)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from djmoney.money import Money

from pledges.importers.problems import Problem, UnreadableFile
from pledges.importers.reading import read_sheets
from pledges.importers.values import parse_amount, parse_int

from ..destinations import parse_country
from ..errors import RateCardRefused
from ..models import RateCard, RateCardRow, ShippingZone
from .fees import MAX_FEE, MAX_GRAMS

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
PROBLEMS_KEPT = 500
COLUMNS = ("zone_or_country", "up_to_g", "cost")


def _key(header: str) -> str:
    return "_".join(header.replace("\ufeff", "").strip().casefold().replace("-", " ").split())


@dataclass(frozen=True)
class PlannedRow:
    line: int
    zone: ShippingZone | None
    country: str
    up_to_g: int
    cost: Decimal

    @property
    def target(self) -> str:
        return self.zone.name if self.zone is not None else self.country


@dataclass
class RateCardCheck:
    """What a rate-card file holds: the rows it would create, and every problem."""

    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_table(data: bytes, original_name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    with tempfile.TemporaryDirectory() as folder:
        # openpyxl opens workbooks by their suffix only; CSVs are told by their bytes.
        path = Path(folder) / "upload.xlsx"
        path.write_bytes(data)
        sheets = read_sheets(path, original_name=original_name, max_bytes=MAX_BYTES)
        sheet = next(sheets)
        return sheet.header, list(sheet.rows)


_AMBIGUOUS = re.compile(r"^[^0-9]*[0-9]{1,3}[.,][0-9]{3}[^0-9]*$")


def _cost(text: str, currency: str) -> Decimal:
    value = text.strip()
    if not value:
        raise ValueError("the cost is empty")
    if _AMBIGUOUS.match(value):
        # "9.999" is 9999 in Germany and 9.999 in the US: a carrier price is never guessed.
        raise ValueError(
            f"“{value}” could be read two ways: write a cost without thousands "
            "separators and with at most 2 decimals (9999 or 9.99)"
        )
    amount, named = parse_amount(value)
    if named is not None and named != currency:
        raise ValueError(f"“{value}” is in {named}; the campaign's prices are in {currency}")
    if amount < 0:
        raise ValueError(f"“{value}” is below zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"“{value}” has more than 2 decimals")
    if amount > MAX_FEE:
        raise ValueError(f"“{value}” is too large")
    return amount


def _grams(text: str) -> int:
    value = text.strip()
    if not value:
        raise ValueError("the weight is empty")
    grams = parse_int(value)
    if not 1 <= grams <= MAX_GRAMS:
        raise ValueError(f"“{value}” is not a weight in grams from 1")
    return grams


def check_rate_card(*, campaign, data: bytes, original_name: str) -> RateCardCheck:
    """Read a rate-card file and say what it holds and what is wrong with it, by
    line and column. Writes nothing."""
    check = RateCardCheck()
    name = original_name or "rate card"
    try:
        header, rows = _read_table(data, name)
    except UnreadableFile as exc:
        message = str(exc.problem.message).replace("backer report", "rate card")
        check.problems.append(
            Problem(file=name, line=exc.problem.line, column=None, message=message)
        )
        return check
    except StopIteration:
        check.problems.append(
            Problem(file=name, line=None, column=None, message="The file has no rows.")
        )
        return check

    positions = {_key(text): i for i, text in reversed(list(enumerate(header)))}
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        check.problems.append(
            Problem(
                file=name,
                line=1,
                column=", ".join(missing),
                message="The header needs the columns zone_or_country, up_to_g and cost; "
                f"missing: {', '.join(missing)}.",
            )
        )
        return check
    if len(rows) > MAX_ROWS:
        check.problems.append(
            Problem(
                file=name,
                line=None,
                column=None,
                message=f"The file has {len(rows):,} rows; a rate card has at most {MAX_ROWS:,}.",
            )
        )
        return check

    zones = {
        zone.name.casefold(): zone
        for zone in ShippingZone.objects.filter(campaign=campaign).order_by("position", "pk")
    }
    seen: dict[tuple, int] = {}
    for line, cells in rows:
        row_problems, planned = _check_row(
            name=name, line=line, cells=cells, positions=positions, zones=zones, campaign=campaign
        )
        if row_problems:
            check.problems.extend(row_problems)
            continue
        key = (planned.zone.pk if planned.zone else None, planned.country, planned.up_to_g)
        if key in seen:
            check.problems.append(
                Problem(
                    name,
                    line,
                    "up_to_g",
                    f"{planned.target} up to {planned.up_to_g:,} g is priced twice "
                    f"(first on line {seen[key]}).",
                )
            )
            continue
        seen[key] = line
        check.rows.append(planned)
    if not rows:
        check.problems.append(Problem(name, None, None, "The file has a header but no prices."))
    del check.problems[PROBLEMS_KEPT:]
    return check


def _check_row(
    *, name: str, line: int, cells: list[str], positions: dict, zones: dict, campaign
) -> tuple[list[Problem], PlannedRow | None]:
    """The problems of one row, or the price it holds."""

    def cell(column: str) -> str:
        index = positions[column]
        return cells[index] if index < len(cells) else ""

    problems: list[Problem] = []
    target = " ".join(cell("zone_or_country").split())
    zone, country = None, ""
    if not target:
        problems.append(Problem(name, line, "zone_or_country", "The zone or country is empty."))
    elif target.casefold() in zones:
        zone = zones[target.casefold()]
    else:
        try:
            country = parse_country(target)
        except ValueError:
            problems.append(
                Problem(
                    name,
                    line,
                    "zone_or_country",
                    f"“{target}” is neither a zone of this campaign nor a country.",
                )
            )
    grams = cost = None
    try:
        grams = _grams(cell("up_to_g"))
    except ValueError as exc:
        problems.append(Problem(name, line, "up_to_g", _sentence(exc)))
    try:
        cost = _cost(cell("cost"), campaign.currency)
    except ValueError as exc:
        problems.append(Problem(name, line, "cost", _sentence(exc)))
    if problems:
        return problems, None
    return [], PlannedRow(line=line, zone=zone, country=country, up_to_g=grams, cost=cost)


def _sentence(exc: ValueError) -> str:
    text = str(exc)
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else f"{text}."


def upload_rate_card(
    *, campaign, data: bytes, original_name: str, name: str = "", actor=None
) -> RateCard:
    """Check a rate-card file and, when it has no problem, save it with all its
    rows. Any problem raises RateCardRefused (with the problems) and saves nothing."""
    check = check_rate_card(campaign=campaign, data=data, original_name=original_name)
    if not check.ok:
        count = len(check.problems)
        raise RateCardRefused(
            f"The rate card has {count} problem{'' if count == 1 else 's'}; nothing was saved.",
            problems=check.problems,
        )
    card_name = " ".join((name or "").split()) or Path(original_name or "rate card").stem[:120]
    with transaction.atomic():
        card = RateCard.objects.create(
            campaign=campaign,
            name=card_name[:120],
            currency=campaign.currency,
            original_name=(original_name or "")[:300],
            created_by=actor,
        )
        RateCardRow.objects.bulk_create(
            (
                RateCardRow(
                    card=card,
                    zone=row.zone,
                    country=row.country,
                    up_to_g=row.up_to_g,
                    cost=Money(row.cost, campaign.currency),
                )
                for row in check.rows
            ),
            batch_size=2000,
        )
    return card


def delete_rate_card(*, card: RateCard) -> None:
    """Delete a rate card and its prices."""
    with transaction.atomic():
        card.delete()
