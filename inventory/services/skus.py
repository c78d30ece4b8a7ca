"""SKU master data: the field rules the form and the CSV import share, the import
itself (check → preview → apply, all or nothing), the export, and deletion.

The CSV has the same header for export and import, so a creator can download the
catalog, edit it in a spreadsheet and upload it again: codes already in the
organization are updated (only the fields that differ), new codes are created.
"""

import hashlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_countries import countries
from djmoney.money import Money
from stdnum import ean
from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError

from accounts.models import Organization
from pledges.exports import FORMULA_STARTS
from pledges.importers.problems import Problem, UnreadableFile
from pledges.importers.reading import read_sheets
from pledges.importers.values import looks_like_scientific_notation, parse_amount, parse_int
from pledges.models import ChoiceOption, RegionalRule, RewardItem, StretchGoal
from surveys.models import AddOnOfferItem

from .. import bom
from ..models import Sku, SkuImport, SkuImportState

# SKU lists are small (thousands of rows): the whole file is read into one preview.
MIB = 1024 * 1024
MAX_IMPORT_BYTES = 5 * MIB
PROBLEMS_STORED = 5000
SAMPLES_KEPT = 20
# PositiveIntegerField's ceiling on every database Django supports.
MAX_WHOLE = 2_147_483_647
# MoneyField(max_digits=12, decimal_places=2)
MAX_CUSTOMS_VALUE = Decimal("9999999999.99")


class SkuCatalogError(Exception):
    """A refused SKU action; `message` is what the page or the command shows."""

    code = "sku_catalog"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SkuImportRefused(SkuCatalogError):
    code = "sku_import_refused"


class SkuImportStateError(SkuCatalogError):
    code = "sku_import_state"


class SkuInUse(SkuCatalogError):
    code = "sku_in_use"


# --- field rules (form and import) ----------------------------------------------------

_HS_SEPARATORS = re.compile(r"[\s.\-\u00a0]+")
_BARCODE_SEPARATORS = re.compile(r"[\s\-\u00a0]+")
_ATTRIBUTE_SPLIT = re.compile(r"[;\r\n]+")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}
# English names people write that django-countries spells otherwise.
_COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "turkey": "TR",
    "czech republic": "CZ",
    "holland": "NL",
    "the netherlands": "NL",
    "korea": "KR",
    "republic of korea": "KR",
    "russian federation": "RU",
    "viet nam": "VN",
    "prc": "CN",
    "people's republic of china": "CN",
}


def normalize_hs_code(text: str) -> str:
    """ "9504.90", "9504 90" or "950490" → "950490"; empty stays empty."""
    digits = _HS_SEPARATORS.sub("", text.strip())
    if not digits:
        return ""
    if not (digits.isascii() and digits.isdigit()) or not 6 <= len(digits) <= 10:
        raise ValueError(f"{text.strip()!r} is not an HS code: write 6 to 10 digits, e.g. 9504.90")
    return digits


def normalize_barcode(text: str) -> str:
    """A GTIN/EAN (8, 12, 13 or 14 digits) with a correct check digit, spaces removed."""
    value = text.strip()
    if not value:
        return ""
    if looks_like_scientific_notation(value):
        raise ValueError(
            f"{value!r} looks like a barcode Excel shortened; format the column as text"
        )
    digits = _BARCODE_SEPARATORS.sub("", value)
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{value!r} is not a GTIN/EAN barcode: use digits only")
    try:
        return ean.validate(digits)
    except InvalidChecksum:
        raise ValueError(
            f"{value!r} is not a valid GTIN/EAN barcode: the check digit is wrong"
        ) from None
    except InvalidLength:
        raise ValueError(
            f"{value!r} is not a GTIN/EAN barcode: it has {len(digits)} digits, "
            "a GTIN has 8, 12, 13 or 14"
        ) from None
    except ValidationError:
        raise ValueError(f"{value!r} is not a GTIN/EAN barcode") from None


def parse_attributes(text: str) -> dict[str, str]:
    """Variant attributes written as ``colour=red; size=L`` or one ``key: value`` per line."""
    attributes: dict[str, str] = {}
    seen: set[str] = set()
    for piece in _ATTRIBUTE_SPLIT.split(text):
        piece = piece.strip()
        if not piece:
            continue
        cuts = [i for i in (piece.find("="), piece.find(":")) if i >= 0]
        if not cuts:
            raise ValueError(f"{piece!r} is not name = value (e.g. colour = red)")
        cut = min(cuts)
        key, value = piece[:cut].strip(), piece[cut + 1 :].strip()
        if not key or not value:
            raise ValueError(f"{piece!r} needs both a name and a value (e.g. colour = red)")
        if key.casefold() in seen:
            raise ValueError(f"{key!r} is given twice")
        seen.add(key.casefold())
        attributes[key] = value
    return attributes


def format_attributes(attributes: dict | None, *, separator: str = "; ", joiner: str = "=") -> str:
    """The text parse_attributes reads back: ``colour=red; size=L``."""
    return separator.join(f"{key}{joiner}{value}" for key, value in (attributes or {}).items())


def parse_country(text: str) -> str:
    """An ISO 3166 code (DE, DEU) or an English country name → the two-letter code."""
    value = text.strip()
    if not value:
        return ""
    upper = value.upper()
    if len(upper) == 2 and upper in countries:
        return upper
    if len(upper) == 3 and upper.isalpha():
        code = countries.alpha2(upper)
        if code:
            return code
    code = _COUNTRY_ALIASES.get(value.casefold()) or countries.by_name(value)
    if code:
        return code
    raise ValueError(f"{value!r} is not a country: use the ISO code (CN, DE) or the English name")


def parse_whole(text: str) -> int | None:
    """A measure in whole grams or millimetres; empty is None."""
    value = text.strip()
    if not value:
        return None
    number = parse_int(value)
    if number < 0:
        raise ValueError(f"{value!r} is below zero")
    if number > MAX_WHOLE:
        raise ValueError(f"{value!r} is too large")
    return number


def parse_yes_no(text: str) -> bool:
    value = text.strip().casefold()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError(f"{text.strip()!r} is not yes or no")


def parse_customs_amount(text: str) -> tuple[Decimal, str | None] | None:
    """A customs unit value and the currency its symbol names, if any; empty is None."""
    value = text.strip()
    if not value:
        return None
    amount, currency = parse_amount(value)
    if amount < 0:
        raise ValueError(f"{value!r} is below zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{value!r} has more than 2 decimals")
    if amount > MAX_CUSTOMS_VALUE:
        raise ValueError(f"{value!r} is too large")
    return amount, currency


def parse_currency(text: str) -> str:
    value = text.strip().upper()
    if not value:
        return ""
    if value not in settings.CURRENCIES:
        raise ValueError(
            f"{text.strip()!r} is not a currency Pledgeport uses ({', '.join(settings.CURRENCIES)})"
        )
    return value


# --- the CSV layout ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    field: str


COLUMNS = [
    Column("Code", "code"),
    Column("Name", "name"),
    Column("Attributes", "attributes"),
    Column("Weight (g)", "weight_g"),
    Column("Length (mm)", "length_mm"),
    Column("Width (mm)", "width_mm"),
    Column("Height (mm)", "height_mm"),
    Column("HS code", "hs_code"),
    Column("Country of origin", "country_of_origin"),
    Column("Customs description", "customs_description"),
    Column("Customs value", "customs_value"),
    Column("Customs currency", "customs_currency"),
    Column("Barcode", "barcode"),
    Column("Digital", "is_digital"),
]
HEADER = [column.header for column in COLUMNS]
REQUIRED = ("code", "name")
LABELS = {column.field: column.header for column in COLUMNS}
# Model fields compared and written by the import, in column order.
SKU_FIELDS = [
    "name",
    "attributes",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
    "hs_code",
    "country_of_origin",
    "customs_description",
    "customs_value",
    "barcode",
    "is_digital",
]
_TEXT_LIMITS = {"code": 64, "name": 200, "customs_description": 200}
_PARSERS = {
    "attributes": parse_attributes,
    "weight_g": parse_whole,
    "length_mm": parse_whole,
    "width_mm": parse_whole,
    "height_mm": parse_whole,
    "hs_code": normalize_hs_code,
    "country_of_origin": parse_country,
    "barcode": normalize_barcode,
    "is_digital": parse_yes_no,
    "customs_value": parse_customs_amount,
    "customs_currency": parse_currency,
}
_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


def _header_key(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


_BY_KEY = {_header_key(column.header): column for column in COLUMNS}


def export_row(sku: Sku) -> list[str]:
    """One SKU as the CSV holds it (the importer reads it back unchanged)."""
    value = sku.customs_value
    return [
        sku.code,
        sku.name,
        format_attributes(sku.attributes),
        "" if sku.weight_g is None else str(sku.weight_g),
        "" if sku.length_mm is None else str(sku.length_mm),
        "" if sku.width_mm is None else str(sku.width_mm),
        "" if sku.height_mm is None else str(sku.height_mm),
        sku.hs_code,
        sku.country_of_origin.code or "",
        sku.customs_description,
        "" if value is None else str(value.amount),
        "" if value is None else str(value.currency),
        sku.barcode,
        "yes" if sku.is_digital else "no",
    ]


def export_rows(*, organization) -> Iterator[list[str]]:
    """The header, then every SKU of the organization by code (streamed)."""
    yield HEADER
    skus = Sku.objects.filter(organization=organization).order_by("code", "pk")
    for sku in skus.iterator(chunk_size=2000):
        yield export_row(sku)


# --- checking a file ----------------------------------------------------------------


def _display(field_name: str, value) -> str:
    if value is None:
        return ""
    if field_name == "attributes":
        return format_attributes(value)
    if field_name == "is_digital":
        return "yes" if value else "no"
    if field_name == "customs_value":
        return f"{value.amount} {value.currency}"
    return str(value)


def _current(sku: Sku, field_name: str):
    if field_name == "country_of_origin":
        return sku.country_of_origin.code or ""
    if field_name == "attributes":
        return {str(k): str(v) for k, v in (sku.attributes or {}).items()}
    return getattr(sku, field_name)


def _unquote(text: str) -> str:
    """A cell as typed: trimmed, and without the apostrophe our exports put before
    a formula-like value (so "=Deluxe" survives export → import)."""
    value = text.strip()
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


@dataclass
class PlannedSku:
    """One row of the file that is fine: what it creates or changes."""

    line: int
    code: str
    values: dict
    sku: Sku | None = None
    changes: dict = field(default_factory=dict)  # field → (old, new)

    def sample(self) -> dict:
        sample = {"line": self.line, "code": self.code, "name": self.values.get("name", "")}
        if not sample["name"] and self.sku is not None:
            sample["name"] = self.sku.name
        if self.changes:
            sample["changes"] = {
                LABELS[name]: [_display(name, old), _display(name, new)]
                for name, (old, new) in self.changes.items()
            }
        return sample


@dataclass
class SkuFileCheck:
    """What a SKU file would do: rows new/updated/unchanged, and every problem."""

    rows: int = 0
    new: list[PlannedSku] = field(default_factory=list)
    updated: list[PlannedSku] = field(default_factory=list)
    unchanged: list[PlannedSku] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def blocking(self) -> int:
        return sum(1 for problem in self.problems if problem.blocking)

    def counts(self) -> dict:
        return {
            "rows": self.rows,
            "new": len(self.new),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "problems": len(self.problems),
            "blocking": self.blocking,
        }

    def samples(self) -> dict:
        return {
            "new": [planned.sample() for planned in self.new[:SAMPLES_KEPT]],
            "updated": [planned.sample() for planned in self.updated[:SAMPLES_KEPT]],
            "unchanged": [planned.sample() for planned in self.unchanged[:SAMPLES_KEPT]],
        }

    def problem_rows(self) -> list[dict]:
        return [
            {"line": p.line, "column": p.column, "message": p.message, "blocking": p.blocking}
            for p in self.problems[:PROBLEMS_STORED]
        ]


def describe_problem(problem: dict) -> str:
    """ "line 14, Weight (g): 'heavy' is not a whole number" from a stored problem."""
    where = [f"line {problem['line']}"] if problem.get("line") else []
    if problem.get("column"):
        where.append(problem["column"])
    return f"{', '.join(where)}: {problem['message']}" if where else problem["message"]


def _megabytes(size: int, *, up: bool = False) -> str:
    tenths = -(-size * 10 // MIB) if up else size * 10 // MIB
    return f"{tenths / 10:.1f}".removesuffix(".0")


def ensure_import_size(size: int) -> None:
    """Refuse a SKU file above MAX_IMPORT_BYTES before its bytes are read."""
    if size > MAX_IMPORT_BYTES:
        raise SkuImportRefused(
            f"The file is {_megabytes(size, up=True)} MB; the limit for a SKU list is "
            f"{_megabytes(MAX_IMPORT_BYTES)} MB."
        )


def _read_table(
    data: bytes, original_name: str
) -> tuple[list[str], list[tuple[int, list[str]]], list[str]]:
    """(header, rows, names of further sheets) of the first sheet of the file."""
    with tempfile.TemporaryDirectory() as folder:
        # openpyxl opens workbooks by their suffix only; CSVs are told by their bytes.
        path = Path(folder) / "upload.xlsx"
        path.write_bytes(data)
        try:
            sheets = read_sheets(path, original_name=original_name, max_bytes=MAX_IMPORT_BYTES)
            sheet = next(sheets)
            rows = list(sheet.rows)
            others = [other.name for other in sheets]
        except UnreadableFile as exc:
            # The reader speaks of backer reports; this upload is a SKU list.
            message = str(exc.problem).replace("backer report", "SKU list")
            raise SkuImportRefused(message) from exc
    return sheet.header, rows, others


def check_sku_file(
    *, organization, data: bytes, original_name: str, default_currency: str, existing=None
) -> SkuFileCheck:
    """Read a whole SKU file and say what importing it would do; changes nothing.

    Identity is the code within the organization. A column missing from the file
    leaves that field of existing SKUs alone; an empty cell clears it. Blocking:
    missing Code/Name column, a column twice, bad values, a code twice in the file,
    a row with the wrong number of cells. Unknown columns are noted, not blocking.
    Raises SkuImportRefused when the file is too big or cannot be read at all."""
    ensure_import_size(len(data))
    header, rows, other_sheets = _read_table(data, original_name)
    check = SkuFileCheck()
    problems = check.problems

    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        column = _BY_KEY.get(_header_key(title))
        if column is None:
            if title.strip():
                problems.append(
                    Problem("", 1, title.strip(), "unknown column, ignored", blocking=False)
                )
            else:
                problems.append(
                    Problem("", 1, f"column {index + 1}", "column without a name, ignored", False)
                )
            continue
        if column.field in positions:
            problems.append(
                Problem(
                    "",
                    1,
                    column.header,
                    f"the column appears twice (columns {positions[column.field] + 1} and "
                    f"{index + 1}); keep one",
                )
            )
            continue
        positions[column.field] = index
    for name in REQUIRED:
        if name not in positions:
            problems.append(Problem("", 1, LABELS[name], "required column missing from the header"))
    if "customs_currency" in positions and "customs_value" not in positions:
        problems.append(
            Problem(
                "",
                1,
                LABELS["customs_currency"],
                "read only next to a Customs value column; ignored",
                blocking=False,
            )
        )
        del positions["customs_currency"]
    for name in other_sheets:
        problems.append(
            Problem("", None, None, f"only the first sheet is read; {name} is ignored", False)
        )
    if check.blocking:
        return check

    if existing is None:
        existing = {sku.code: sku for sku in Sku.objects.filter(organization=organization)}
    width = len(header)
    first_line: dict[str, int] = {}
    for line, cells in rows:
        check.rows += 1
        if len(cells) != width and (len(cells) < width or "".join(cells[width:]).strip()):
            problems.append(
                Problem("", line, None, f"has {len(cells)} cells, the header has {width}")
            )
            continue
        planned = _plan_row(
            line, cells, positions, problems, existing, first_line, default_currency
        )
        if planned is None:
            continue
        if planned.sku is None:
            check.new.append(planned)
        elif planned.changes:
            check.updated.append(planned)
        else:
            check.unchanged.append(planned)
    _refuse_locked_map_damage(check)
    return check


_MISSING_FIELD = {
    "weight": "weight_g",
    "HS code": "hs_code",
    "country of origin": "country_of_origin",
}


def _refuse_locked_map_damage(check: SkuFileCheck) -> None:
    """A row may not take away what a locked SKU map relies on (a blocking problem)."""
    if not check.updated:
        return
    locking = campaigns_locking(sku_ids=[planned.sku.pk for planned in check.updated])
    for planned in check.updated:
        campaigns = locking.get(planned.sku.pk)
        if not campaigns:
            continue
        after = Sku(
            **{
                name: planned.changes[name][1]
                if name in planned.changes
                else getattr(planned.sku, name)
                for name in ("weight_g", "hs_code", "country_of_origin", "is_digital")
            }
        )
        refusal = locked_map_refusal(
            before=planned.sku,
            after_missing=after.missing_shipping_data,
            after_digital=after.is_digital,
            campaigns=campaigns,
        )
        if refusal:
            newly = [
                m for m in after.missing_shipping_data if m not in planned.sku.missing_shipping_data
            ]
            field_name = (
                "is_digital" if "is_digital" in planned.changes else _MISSING_FIELD[newly[0]]
            )
            check.problems.append(Problem("", planned.line, LABELS[field_name], refusal))


def _plan_row(line, cells, positions, problems, existing, first_line, default_currency):
    """One row → PlannedSku, or None when a blocking problem keeps it out."""
    before = len(problems)

    def problem(name: str, message: str) -> None:
        problems.append(Problem("", line, LABELS[name], message))

    raw = {name: _unquote(cells[index]) for name, index in positions.items()}
    code = raw["code"]
    if not code:
        problem("code", "empty: every row needs a code")
    elif len(code) > _TEXT_LIMITS["code"]:
        problem("code", f"{code[:20]!r}… is longer than 64 characters")
    elif not _CODE_PATTERN.match(code):
        problem(
            "code",
            f"{code!r}: use letters, digits and . _ / - (no spaces), "
            "starting with a letter or digit",
        )
    elif code in first_line:
        problem("code", f"{code!r} is already on line {first_line[code]}")
    else:
        first_line[code] = line

    values: dict = {}
    for name, text in raw.items():
        if name == "code":
            continue
        if name in _TEXT_LIMITS:
            if name == "name" and not text:
                problem(name, "empty: every SKU needs a name")
            elif len(text) > _TEXT_LIMITS[name]:
                problem(name, f"longer than {_TEXT_LIMITS[name]} characters")
            else:
                values[name] = text
            continue
        try:
            values[name] = _PARSERS[name](text)
        except ValueError as exc:
            problem(name, str(exc))
    if len(problems) > before:
        return None

    sku = existing.get(code)
    if "customs_value" in values:
        parsed = values.pop("customs_value")
        written = values.pop("customs_currency", "")
        if parsed is None:
            values["customs_value"] = None
        else:
            amount, marked = parsed
            if marked and written and marked != written:
                problem(
                    "customs_value",
                    f"{raw['customs_value']!r} is in {marked}, but Customs currency says {written}",
                )
                return None
            kept = sku.customs_value.currency.code if sku and sku.customs_value else ""
            values["customs_value"] = Money(amount, written or marked or kept or default_currency)

    planned = PlannedSku(line=line, code=code, values=values, sku=sku)
    if sku is not None:
        for name in SKU_FIELDS:
            if name in values and _current(sku, name) != values[name]:
                planned.changes[name] = (_current(sku, name), values[name])
    return planned


# --- the SkuImport life: preview → apply ------------------------------------------------


def create_sku_import(*, campaign, data: bytes, original_name: str, actor=None) -> SkuImport:
    """Check a SKU file for the campaign's organization and keep it with its preview.

    Nothing in the catalog changes; a file with blocking problems is stored as
    blocked (so its problems can be downloaded) and can never be applied."""
    check = check_sku_file(
        organization=campaign.organization,
        data=data,
        original_name=original_name,
        default_currency=campaign.currency,
    )
    return SkuImport.objects.create(
        organization=campaign.organization,
        campaign=campaign,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        original_name=Path(original_name or "upload").name[:300],
        file_hash=hashlib.sha256(data).hexdigest(),
        data=data,
        state=SkuImportState.BLOCKED if check.blocking else SkuImportState.PREVIEWED,
        counts=check.counts(),
        samples=check.samples(),
        problems=check.problem_rows(),
    )


def apply_sku_import(*, sku_import: SkuImport) -> SkuImport:
    """Create and update the SKUs of a previewed import, all or nothing.

    Re-reads the stored bytes (refused if they no longer match the previewed hash)
    against the catalog as it is now, under a lock on the import row and the
    organization's SKUs, so two applies cannot both write; refused when blocked
    or already applied. Only fields that differ are written."""
    try:
        with transaction.atomic():
            run = (
                SkuImport.objects.select_for_update(of=("self",))
                .select_related("campaign")
                .get(pk=sku_import.pk)
            )
            if run.state == SkuImportState.APPLIED:
                when = timezone.localtime(run.applied_at)
                raise SkuImportStateError(
                    f"This import was already applied on {when:%d %b %Y %H:%M}."
                )
            if run.state == SkuImportState.BLOCKED:
                blocking = run.counts.get("blocking", 0)
                raise SkuImportRefused(
                    f"The file has {blocking} blocking problem{'s' if blocking != 1 else ''}; "
                    "nothing is imported. Fix the file and upload it again."
                )
            data = bytes(run.data)
            if hashlib.sha256(data).hexdigest() != run.file_hash:
                raise SkuImportRefused(
                    "The stored file does not match the one that was checked; upload it again."
                )
            # One import of an organization at a time: the second waits here and
            # then sees the SKUs the first created.
            Organization.objects.select_for_update().filter(pk=run.organization_id).first()
            locked = Sku.objects.select_for_update().filter(organization_id=run.organization_id)
            existing = {sku.code: sku for sku in locked.order_by("pk")}
            check = check_sku_file(
                organization=run.organization,
                data=data,
                original_name=run.original_name,
                default_currency=run.campaign.currency if run.campaign else "USD",
                existing=existing,
            )
            run.counts = check.counts()
            run.samples = check.samples()
            run.problems = check.problem_rows()
            if check.blocking:
                run.state = SkuImportState.BLOCKED
                run.save(update_fields=["state", "counts", "samples", "problems"])
                return run
            _write(organization_id=run.organization_id, check=check)
            # Bulk writes send no signals: the survey pages' maps are stale now.
            bom.skus_changed(organization_id=run.organization_id)
            run.state = SkuImportState.APPLIED
            run.applied_at = timezone.now()
            run.save(update_fields=["state", "applied_at", "counts", "samples", "problems"])
    except IntegrityError as exc:
        raise SkuImportRefused(
            "A SKU with one of these codes was created while the import ran; "
            "nothing was imported. Check the file again."
        ) from exc
    return run


def _write(*, organization_id: int, check: SkuFileCheck) -> None:
    now = timezone.now()
    Sku.objects.bulk_create(
        [
            Sku(organization_id=organization_id, code=planned.code, **planned.values)
            for planned in check.new
        ],
        batch_size=500,
    )
    # One UPDATE per set of changed fields, so a field nobody changed is never written.
    groups: dict[tuple[str, ...], list[Sku]] = {}
    for planned in check.updated:
        sku = planned.sku
        for name, (_old, new) in planned.changes.items():
            setattr(sku, name, new)
        sku.updated_at = now
        groups.setdefault(tuple(sorted(planned.changes)), []).append(sku)
    for names, skus in groups.items():
        fields = [*names, "updated_at"]
        if "customs_value" in names:
            fields.append("customs_value_currency")
        Sku.objects.bulk_update(skus, fields, batch_size=500)


# --- SKUs in a locked SKU map -------------------------------------------------------------


def campaigns_locking(*, sku_ids) -> dict[int, list[str]]:
    """SKU id → names of the campaigns whose locked SKU map uses it."""
    sku_ids = list(sku_ids)
    uses = [
        (RewardItem, "sku_id", "reward__campaign"),
        (ChoiceOption, "sku_id", "group__campaign"),
        (AddOnOfferItem, "sku_id", "offer__campaign"),
        (RegionalRule, "from_sku_id", "campaign"),
        (RegionalRule, "to_sku_id", "campaign"),
        (StretchGoal, "sku_id", "campaign"),
    ]
    found: dict[int, set[str]] = {}
    for model, sku_field, campaign in uses:
        rows = (
            model.objects.filter(
                **{f"{sku_field}__in": sku_ids, f"{campaign}__sku_map_locked_at__isnull": False}
            )
            .values_list(sku_field, f"{campaign}__name")
            .distinct()
        )
        for sku_id, name in rows:
            found.setdefault(sku_id, set()).add(name)
    return {sku_id: sorted(names) for sku_id, names in found.items()}


def locked_map_refusal(*, before: Sku, after_missing: list[str], after_digital: bool, campaigns):
    """Why a change to a SKU of a locked SKU map is refused, or None.

    Fixing data is fine; what the lock guarantees (nothing missing for customs and
    labels, physical or digital as checked) must stay true until someone unlocks."""
    if not campaigns:
        return None
    names = ", ".join(campaigns)
    if after_digital != before.is_digital:
        return f"{before.code} is in the locked SKU map of {names}: unlock it to change “digital”"
    newly_missing = [m for m in after_missing if m not in before.missing_shipping_data]
    if newly_missing:
        return (
            f"{before.code} is in the locked SKU map of {names}: unlock it before "
            f"removing its {', '.join(newly_missing)}"
        )
    return None


# --- the catalog page, usage and deletion ---------------------------------------------------


def _count(queryset) -> Coalesce:
    """COUNT(*) of `queryset` as a correlated subquery (one query for the whole page)."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def skus_with_usage(*, campaign) -> QuerySet[Sku]:
    """The organization's SKUs, each with how often this campaign's map uses it:
    `reward_uses`, `choice_uses`, `addon_uses`, `regional_uses`, `stretch_uses`."""
    sku = OuterRef("pk")
    return Sku.objects.filter(organization=campaign.organization).annotate(
        reward_uses=_count(RewardItem.objects.filter(sku=sku, reward__campaign=campaign)),
        choice_uses=_count(ChoiceOption.objects.filter(sku=sku, group__campaign=campaign)),
        addon_uses=_count(AddOnOfferItem.objects.filter(sku=sku, offer__campaign=campaign)),
        regional_uses=_count(
            RegionalRule.objects.filter(Q(from_sku=sku) | Q(to_sku=sku), campaign=campaign)
        ),
        stretch_uses=_count(StretchGoal.objects.filter(sku=sku, campaign=campaign)),
    )


def search_skus(queryset: QuerySet[Sku], *, q: str = "", missing: bool = False, digital: str = ""):
    """Filter a SKU queryset: `q` in code, name or barcode; SKUs lacking shipping data;
    digital "yes" / "no"."""
    q = q.strip()
    if q:
        queryset = queryset.filter(
            Q(code__icontains=q) | Q(name__icontains=q) | Q(barcode__icontains=q)
        )
    if missing:
        queryset = queryset.filter(is_digital=False).filter(
            Q(weight_g__isnull=True) | Q(weight_g=0) | Q(hs_code="") | Q(country_of_origin="")
        )
    if digital == "yes":
        queryset = queryset.filter(is_digital=True)
    elif digital == "no":
        queryset = queryset.filter(is_digital=False)
    return queryset


def catalog_counts(*, organization) -> dict:
    """SKUs in the catalog, and how many lack weight, HS code or origin."""
    return Sku.objects.filter(organization=organization).aggregate(
        total=Count("pk"),
        missing=Count(
            "pk",
            filter=Q(is_digital=False)
            & (Q(weight_g__isnull=True) | Q(weight_g=0) | Q(hs_code="") | Q(country_of_origin="")),
        ),
        digital=Count("pk", filter=Q(is_digital=True)),
    )


def sku_usage(*, sku: Sku) -> list[str]:
    """Everything that keeps the SKU from being deleted, in words, across all campaigns."""
    uses = []
    for item in RewardItem.objects.filter(sku=sku).select_related("reward__campaign"):
        uses.append(f"reward “{item.reward.title}” ({item.reward.campaign.name})")
    for option in ChoiceOption.objects.filter(sku=sku).select_related("group__campaign"):
        uses.append(f"choice “{option.group.name}: {option.label}” ({option.group.campaign.name})")
    for item in AddOnOfferItem.objects.filter(sku=sku).select_related("offer__campaign"):
        uses.append(f"add-on offer “{item.offer.name}” ({item.offer.campaign.name})")
    rules = RegionalRule.objects.filter(Q(from_sku=sku) | Q(to_sku=sku)).select_related("campaign")
    for rule in rules:
        uses.append(f"regional rule “{rule.name}” ({rule.campaign.name})")
    for goal in StretchGoal.objects.filter(sku=sku).select_related("campaign"):
        uses.append(f"stretch goal “{goal.name}” ({goal.campaign.name})")
    return uses


def _in_use_message(sku: Sku, uses: list[str]) -> str:
    shown = "; ".join(uses[:10])
    more = f"; and {len(uses) - 10} more" if len(uses) > 10 else ""
    return f"{sku.code} is used by {shown}{more}. Remove it there before deleting it."


def delete_sku(*, sku: Sku) -> None:
    """Delete a SKU nothing uses; refused (SkuInUse, naming the uses) otherwise."""
    uses = sku_usage(sku=sku)
    if uses:
        raise SkuInUse(_in_use_message(sku, uses))
    try:
        with transaction.atomic():
            sku.delete()
    except ProtectedError as exc:
        # Something added since the check, or a protected link this module does not list.
        names = sorted({str(obj._meta.verbose_name) for obj in exc.protected_objects})
        raise SkuInUse(_in_use_message(sku, names)) from exc
