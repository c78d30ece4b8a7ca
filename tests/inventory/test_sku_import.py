"""SKU CSV import (check → preview → apply, all or nothing) and export."""

import codecs
import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from inventory.models import Sku, SkuImport, SkuImportState
from inventory.services import skus as sku_services
from inventory.services.skus import HEADER, describe_problem
from tests.conftest import member
from tests.factories import CampaignFactory, OrganizationFactory, SkuFactory

FULL = {
    "Code": "CORE",
    "Name": "Core box",
    "Attributes": "language=en",
    "Weight (g)": "1450",
    "Length (mm)": "300",
    "Width (mm)": "300",
    "Height (mm)": "80",
    "HS code": "9504.90",
    "Country of origin": "CN",
    "Customs description": "Board game",
    "Customs value": "18.50",
    "Customs currency": "USD",
    "Barcode": "4006381333931",
    "Digital": "no",
}


def row(**cells) -> dict:
    """A full row; keyword names use _ for spaces: Weight_g → "Weight (g)"."""
    values = dict(FULL)
    for key, value in cells.items():
        values[_header(key)] = value
    return values


def _header(key: str) -> str:
    for title in HEADER:
        simple = title.replace(" (g)", "_g").replace(" (mm)", "_mm").replace(" ", "_")
        if key == simple:
            return title
    raise KeyError(key)


def csv_bytes(rows, header=HEADER, *, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for values in rows:
        writer.writerow(
            [values.get(title, "") for title in header] if isinstance(values, dict) else values
        )
    return out.getvalue().encode(encoding)


def check(campaign, data: bytes, name="skus.csv"):
    return sku_services.check_sku_file(
        organization=campaign.organization,
        data=data,
        original_name=name,
        default_currency=campaign.currency,
    )


def preview(campaign, data: bytes, name="skus.csv") -> SkuImport:
    return sku_services.create_sku_import(campaign=campaign, data=data, original_name=name)


def imported(campaign, data: bytes) -> SkuImport:
    run = preview(campaign, data)
    assert run.state == SkuImportState.PREVIEWED, run.problems
    return sku_services.apply_sku_import(sku_import=run)


def messages(result) -> list[str]:
    rows = result.problem_rows() if hasattr(result, "problem_rows") else result.problems
    return [describe_problem(p) for p in rows]


def _upload(data: bytes, name: str = "skus.csv"):
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _export(client, campaign) -> bytes:
    response = client.get(reverse("sku-export", args=[campaign.slug]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


# --- counts, apply, idempotence ---------------------------------------------------------


def test_new_updated_and_unchanged_are_counted_with_samples(campaign):
    imported(campaign, csv_bytes([row(Code="SAME"), row(Code="CHANGED")]))
    data = csv_bytes([row(Code="SAME"), row(Code="CHANGED", Weight_g="1500"), row(Code="NEW")])
    run = preview(campaign, data)
    assert run.counts == {
        "rows": 3,
        "new": 1,
        "updated": 1,
        "unchanged": 1,
        "problems": 0,
        "blocking": 0,
    }
    assert run.samples["new"] == [{"line": 4, "code": "NEW", "name": "Core box"}]
    assert run.samples["updated"] == [
        {
            "line": 3,
            "code": "CHANGED",
            "name": "Core box",
            "changes": {"Weight (g)": ["1450", "1500"]},
        }
    ]
    assert [s["code"] for s in run.samples["unchanged"]] == ["SAME"]
    assert Sku.objects.get(code="CHANGED").weight_g == 1450  # a preview changes nothing


def test_apply_creates_and_updates_every_field(campaign):
    run = imported(campaign, csv_bytes([row()]))
    assert run.state == SkuImportState.APPLIED and run.applied_at is not None
    sku = Sku.objects.get(organization=campaign.organization, code="CORE")
    assert sku.name == "Core box"
    assert sku.attributes == {"language": "en"}
    assert (sku.weight_g, sku.length_mm, sku.width_mm, sku.height_mm) == (1450, 300, 300, 80)
    assert sku.hs_code == "950490"
    assert sku.country_of_origin.code == "CN"
    assert sku.customs_description == "Board game"
    assert sku.customs_value == Money(Decimal("18.50"), "USD")
    assert sku.barcode == "4006381333931"
    assert sku.is_digital is False

    update = row(
        Name="Core box, 2nd print",
        Attributes="language=de; edition=2",
        Country_of_origin="Germany",
        Customs_value="€21",
        Customs_currency="",
        Digital="yes",
    )
    run = imported(campaign, csv_bytes([update]))
    assert run.counts["updated"] == 1
    sku.refresh_from_db()
    assert sku.name == "Core box, 2nd print"
    assert sku.attributes == {"language": "de", "edition": "2"}
    assert sku.country_of_origin.code == "DE"
    assert sku.customs_value == Money(Decimal("21"), "EUR")
    assert sku.is_digital is True
    assert sku.weight_g == 1450


def test_reimporting_the_same_file_reports_everything_unchanged(campaign):
    data = csv_bytes([row(Code="A"), row(Code="B", Attributes="colour=red; size=L")])
    imported(campaign, data)
    before = {s.code: s.updated_at for s in Sku.objects.all()}
    again = imported(campaign, data)
    assert again.counts["new"] == 0 and again.counts["updated"] == 0
    assert again.counts["unchanged"] == 2
    assert {s.code: s.updated_at for s in Sku.objects.all()} == before


def test_only_changed_fields_are_written(campaign):
    imported(campaign, csv_bytes([row(Code="A"), row(Code="B")]))
    run = preview(campaign, csv_bytes([row(Code="A", HS_code="9504.50"), row(Code="B")]))
    with CaptureQueriesContext(connection) as queries:
        sku_services.apply_sku_import(sku_import=run)
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "inventory_sku"')]
    assert len(updates) == 1
    assert '"hs_code"' in updates[0] and '"name"' not in updates[0]
    assert Sku.objects.get(code="A").hs_code == "950450"


def test_columns_left_out_leave_fields_alone_and_empty_cells_clear_them(campaign):
    imported(campaign, csv_bytes([row()]))
    partial = csv_bytes(
        [["CORE", "Core box", "", "DE"]], header=["Code", "Name", "HS code", "Country of origin"]
    )
    run = imported(campaign, partial)
    assert run.samples["updated"][0]["changes"] == {
        "HS code": ["950490", ""],
        "Country of origin": ["CN", "DE"],
    }
    sku = Sku.objects.get(code="CORE")
    assert sku.hs_code == "" and sku.country_of_origin.code == "DE"
    assert sku.weight_g == 1450 and sku.barcode == "4006381333931"


def test_codes_are_matched_within_the_organization_only(campaign):
    foreign = SkuFactory(organization=OrganizationFactory(), code="CORE", name="Theirs")
    run = imported(campaign, csv_bytes([row()]))
    assert run.counts["new"] == 1
    foreign.refresh_from_db()
    assert foreign.name == "Theirs"
    assert Sku.objects.filter(code="CORE").count() == 2


def test_sister_campaign_updates_the_same_catalog(campaign):
    imported(campaign, csv_bytes([row()]))
    sister = CampaignFactory(organization=campaign.organization)
    run = imported(sister, csv_bytes([row(Name="Renamed")]))
    assert run.counts["updated"] == 1
    assert Sku.objects.get().name == "Renamed"


def test_customs_currency_defaults_to_the_campaign_and_then_to_the_skus_own(db):
    campaign = CampaignFactory(currency="GBP")
    imported(campaign, csv_bytes([row(Customs_currency="")]))
    assert Sku.objects.get().customs_value == Money(Decimal("18.50"), "GBP")
    other = CampaignFactory(organization=campaign.organization, currency="USD")
    run = imported(other, csv_bytes([row(Customs_currency="")]))
    assert run.counts["unchanged"] == 1
    assert Sku.objects.get().customs_value == Money(Decimal("18.50"), "GBP")


@pytest.mark.parametrize(
    "written, code",
    [
        ("Germany", "DE"),
        ("germany", "DE"),
        ("DEU", "DE"),
        ("de", "DE"),
        ("USA", "US"),
        ("United Kingdom", "GB"),
    ],
)
def test_country_by_iso_code_or_english_name(campaign, written, code):
    imported(campaign, csv_bytes([row(Country_of_origin=written)]))
    assert Sku.objects.get().country_of_origin.code == code


@pytest.mark.parametrize(
    "written, value",
    [
        ("yes", True),
        ("TRUE", True),
        ("1", True),
        ("No", False),
        ("false", False),
        ("0", False),
        ("", False),
    ],
)
def test_digital_flag_words(campaign, written, value):
    imported(campaign, csv_bytes([row(Digital=written)]))
    assert Sku.objects.get().is_digital is value


# --- reading any file ---------------------------------------------------------------------


def test_header_is_matched_case_insensitively_in_any_order(campaign):
    data = b"  weight (G) ,NAME,code\n500,Playmat,MAT-1\n"
    imported(campaign, data)
    sku = Sku.objects.get()
    assert (sku.code, sku.name, sku.weight_g) == ("MAT-1", "Playmat", 500)


@pytest.mark.parametrize(
    "encoding, delimiter",
    [("utf-8-sig", ","), ("utf-16", "\t"), ("cp1252", ";"), ("utf-8", "|")],
)
def test_encodings_and_delimiters_of_spreadsheet_programs(campaign, encoding, delimiter):
    data = csv_bytes(
        [row(Name="Café édition", Customs_value="18,50")], delimiter=delimiter, encoding=encoding
    )
    imported(campaign, data)
    sku = Sku.objects.get()
    assert sku.name == "Café édition"
    assert sku.customs_value == Money(Decimal("18.50"), "USD")


def test_excel_workbook_is_read_too(campaign):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([FULL[title] for title in HEADER])
    out = io.BytesIO()
    workbook.save(out)
    imported(campaign, out.getvalue())
    assert Sku.objects.get().hs_code == "950490"


def test_file_over_5_mb_is_refused_with_the_limit(campaign):
    data = csv_bytes([row()]) + b"#" * (5 * 1024 * 1024)
    with pytest.raises(
        sku_services.SkuImportRefused,
        match=r"The file is 5.1 MB; the limit for a SKU list is 5 MB\.",
    ):
        preview(campaign, data)
    assert not SkuImport.objects.exists()


def test_file_that_is_not_a_table_is_refused_in_words(campaign):
    with pytest.raises(sku_services.SkuImportRefused) as refused:
        preview(campaign, b"%PDF-1.4 binary", name="skus.pdf")
    assert (
        refused.value.message == "skus.pdf: This is a PDF; upload the CSV, ZIP or Excel SKU list."
    )


# --- problems -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cells, message",
    [
        ({"Weight_g": "heavy"}, "line 2, Weight (g): 'heavy' is not a whole number"),
        ({"Length_mm": "-5"}, "line 2, Length (mm): '-5' is below zero"),
        ({"Height_mm": "3000000000"}, "line 2, Height (mm): '3000000000' is too large"),
        (
            {"HS_code": "9504"},
            "line 2, HS code: '9504' is not an HS code: write 6 to 10 digits, e.g. 9504.90",
        ),
        (
            {"Country_of_origin": "Narnia"},
            "line 2, Country of origin: 'Narnia' is not a country: use the ISO code (CN, DE) or the English name",
        ),
        (
            {"Barcode": "4006381333932"},
            "line 2, Barcode: '4006381333932' is not a valid GTIN/EAN barcode: the check digit is wrong",
        ),
        (
            {"Barcode": "4.00638E+12"},
            "line 2, Barcode: '4.00638E+12' looks like a barcode Excel shortened; format the column as text",
        ),
        ({"Digital": "maybe"}, "line 2, Digital: 'maybe' is not yes or no"),
        ({"Customs_value": "ten"}, "line 2, Customs value: 'ten' is not an amount"),
        ({"Customs_value": "12.3456"}, "line 2, Customs value: '12.3456' has more than 2 decimals"),
        (
            {"Customs_currency": "XYZ"},
            "line 2, Customs currency: 'XYZ' is not a currency Pledgeport uses",
        ),
        (
            {"Customs_value": "€12", "Customs_currency": "USD"},
            "line 2, Customs value: '€12' is in EUR, but Customs currency says USD",
        ),
        (
            {"Attributes": "colour red"},
            "line 2, Attributes: 'colour red' is not name = value (e.g. colour = red)",
        ),
        ({"Code": ""}, "line 2, Code: empty: every row needs a code"),
        (
            {"Code": "CORE BOX"},
            "line 2, Code: 'CORE BOX': use letters, digits and . _ / - (no spaces), starting with a letter or digit",
        ),
        ({"Name": ""}, "line 2, Name: empty: every SKU needs a name"),
        ({"Name": "x" * 201}, "line 2, Name: longer than 200 characters"),
        (
            {"Customs_description": "x" * 201},
            "line 2, Customs description: longer than 200 characters",
        ),
    ],
)
def test_every_bad_value_is_a_blocking_problem_with_line_and_column(campaign, cells, message):
    result = check(campaign, csv_bytes([row(**cells)]))
    assert len(messages(result)) == 1
    assert messages(result)[0].startswith(message)
    assert result.blocking == 1 and result.new == []


def test_problems_are_found_on_every_line_of_the_file(campaign):
    data = csv_bytes(
        [row(Code="A", Weight_g="heavy"), row(Code="B"), row(Code="C", Digital="maybe")]
    )
    assert messages(check(campaign, data)) == [
        "line 2, Weight (g): 'heavy' is not a whole number",
        "line 4, Digital: 'maybe' is not yes or no",
    ]


def test_a_code_twice_in_the_file_blocks_on_the_second_line(campaign):
    result = check(campaign, csv_bytes([row(Code="A"), row(Code="B"), row(Code="A")]))
    assert messages(result) == ["line 4, Code: 'A' is already on line 2"]
    assert result.blocking == 1


@pytest.mark.parametrize("missing", ["Code", "Name"])
def test_a_missing_required_column_is_one_blocking_problem_naming_it(campaign, missing):
    header = [title for title in HEADER if title != missing]
    result = check(campaign, csv_bytes([row()], header=header))
    assert messages(result) == [f"line 1, {missing}: required column missing from the header"]
    assert result.blocking == 1 and result.rows == 0


def test_unknown_columns_are_noted_without_blocking(campaign):
    data = csv_bytes([[*FULL.values(), "blue"]], header=[*HEADER, "Colour"])
    run = preview(campaign, data)
    assert run.state == SkuImportState.PREVIEWED
    assert run.problems == [
        {"line": 1, "column": "Colour", "message": "unknown column, ignored", "blocking": False}
    ]
    assert sku_services.apply_sku_import(sku_import=run).state == SkuImportState.APPLIED


def test_a_column_twice_blocks(campaign):
    result = check(campaign, b"Code,Name,Weight (g),weight (g)\nA,B,1,2\n")
    assert messages(result) == [
        "line 1, Weight (g): the column appears twice (columns 3 and 4); keep one"
    ]


def test_a_row_with_the_wrong_number_of_cells_blocks(campaign):
    result = check(campaign, b"Code,Name,Weight (g)\nA,Alpha\nB,Beta,1,surplus\n")
    assert messages(result) == [
        "line 2: has 2 cells, the header has 3",
        "line 3: has 4 cells, the header has 3",
    ]


# --- all or nothing -------------------------------------------------------------------------


def test_a_blocking_problem_leaves_nothing_changed(campaign):
    imported(campaign, csv_bytes([row(Code="KEEP", Name="Original")]))
    data = csv_bytes(
        [row(Code="KEEP", Name="Changed"), row(Code="NEW"), row(Code="BAD", Weight_g="heavy")]
    )
    run = preview(campaign, data)
    assert run.state == SkuImportState.BLOCKED
    with pytest.raises(
        sku_services.SkuImportRefused, match="1 blocking problem; nothing is imported"
    ):
        sku_services.apply_sku_import(sku_import=run)
    assert list(Sku.objects.values_list("code", "name")) == [("KEEP", "Original")]
    run.refresh_from_db()
    assert run.state == SkuImportState.BLOCKED


def test_a_failure_while_writing_rolls_back_every_row(campaign, monkeypatch):
    imported(campaign, csv_bytes([row(Code="OLD")]))
    run = preview(campaign, csv_bytes([row(Code="OLD", Name="Changed"), row(Code="NEW")]))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Sku.objects.__class__, "bulk_update", broken)
    with pytest.raises(RuntimeError):
        sku_services.apply_sku_import(sku_import=run)
    assert list(Sku.objects.values_list("code", "name")) == [("OLD", "Core box")]
    run.refresh_from_db()
    assert run.state == SkuImportState.PREVIEWED


def test_apply_refuses_bytes_that_are_not_what_was_previewed(campaign):
    run = preview(campaign, csv_bytes([row()]))
    SkuImport.objects.filter(pk=run.pk).update(data=csv_bytes([row(Code="OTHER")]))
    with pytest.raises(
        sku_services.SkuImportRefused, match="does not match the one that was checked"
    ):
        sku_services.apply_sku_import(sku_import=run)
    assert not Sku.objects.exists()


def test_an_import_is_applied_once(campaign):
    run = imported(campaign, csv_bytes([row()]))
    with pytest.raises(sku_services.SkuImportStateError, match="already applied"):
        sku_services.apply_sku_import(sku_import=run)


def test_apply_reads_the_catalog_as_it_is_then(campaign):
    run = preview(campaign, csv_bytes([row()]))
    SkuFactory(organization=campaign.organization, code="CORE", name="Made meanwhile")
    run = sku_services.apply_sku_import(sku_import=run)
    assert run.counts["new"] == 0 and run.counts["updated"] == 1
    assert Sku.objects.get().name == "Core box"


# --- export and round trip ------------------------------------------------------------------


def test_export_has_the_import_header_and_the_organizations_skus_only(owner_client, campaign):
    SkuFactory(organization=campaign.organization, code="MINE", customs_value=Money("4.50", "EUR"))
    SkuFactory(organization=OrganizationFactory(), code="THEIRS")
    text = _export(owner_client, campaign).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == ["MINE"]
    assert rows[1][10:12] == ["4.50", "EUR"]


def test_export_neutralises_formulas(owner_client, campaign):
    for code, name in [
        ("F1", '=HYPERLINK("http://x")'),
        ("F2", "+1"),
        ("F3", "-2"),
        ("F4", "@SUM(A1)"),
    ]:
        SkuFactory(
            organization=campaign.organization, code=code, name=name, customs_description=name
        )
    text = _export(owner_client, campaign).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert [r[1] for r in rows] == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)"]
    assert [r[9] for r in rows] == [r[1] for r in rows]


def test_export_then_import_changes_nothing(owner_client, campaign):
    org = campaign.organization
    SkuFactory(
        organization=org,
        code="FULL",
        name='Core box, "deluxe"',
        attributes={"colour": "red", "size": "L"},
        length_mm=300,
        width_mm=290,
        height_mm=80,
        barcode="4006381333931",
        customs_value=Money("18.50", "EUR"),
    )
    SkuFactory(
        organization=org,
        code="BARE",
        name="=Formula-like name",
        weight_g=None,
        hs_code="",
        country_of_origin="",
        customs_description="",
    )
    SkuFactory(organization=org, code="PDF/1", name="Rulebook PDF – ünïcode", is_digital=True)
    exported = _export(owner_client, campaign)
    assert exported.startswith(codecs.BOM_UTF8)
    run = preview(campaign, exported, name="export.csv")
    assert run.counts == {
        "rows": 3,
        "new": 0,
        "updated": 0,
        "unchanged": 3,
        "problems": 0,
        "blocking": 0,
    }

    # Edited in a spreadsheet and uploaded again: only the edit shows.
    text = exported.decode("utf-8-sig").replace("Rulebook PDF", "Rulebook (PDF)")
    run = preview(campaign, text.encode("utf-8"), name="edited.csv")
    assert (run.counts["updated"], run.counts["unchanged"]) == (1, 2)


def test_export_is_allowed_to_every_role(client, campaign):
    client.force_login(member(campaign.organization, Role.WAREHOUSE))
    SkuFactory(organization=campaign.organization, code="W")
    assert b"W," in _export(client, campaign)


# --- pages ------------------------------------------------------------------------------------


def test_upload_check_then_apply_through_the_pages(owner_client, campaign):
    url = reverse("sku-import", args=[campaign.slug])
    response = owner_client.post(url, {"file": _upload(csv_bytes([row(), row(Code="TWO")]))})
    run = SkuImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sku-import-detail", args=[campaign.slug, run.pk])
    assert run.created_by is not None and run.campaign == campaign
    detail = owner_client.get(response["Location"]).content.decode()
    assert "Apply: 2 new, 0 updated" in detail
    assert not Sku.objects.exists()

    response = owner_client.post(response["Location"], follow=True)
    assert "Import applied: 2 new, 0 updated SKUs." in response.content.decode()
    assert Sku.objects.count() == 2
    history = owner_client.get(url).content.decode()
    assert "skus.csv" in history and "Applied" in history


def test_blocked_import_page_lists_problems_and_offers_no_apply(owner_client, campaign):
    run = preview(campaign, csv_bytes([row(Weight_g="heavy")]))
    url = reverse("sku-import-detail", args=[campaign.slug, run.pk])
    html = owner_client.get(url).content.decode()
    assert "Nothing can be imported." in html
    assert "&#x27;heavy&#x27; is not a whole number" in html
    assert "Apply:" not in html
    response = owner_client.post(url, follow=True)
    assert "blocking problem; nothing is imported" in response.content.decode()
    assert not Sku.objects.exists()


def test_problems_download_as_csv(owner_client, campaign):
    run = preview(
        campaign, csv_bytes([row(Weight_g="heavy"), row(Code="B")], header=[*HEADER, "Extra"])
    )
    response = owner_client.get(reverse("sku-import-problems-csv", args=[campaign.slug, run.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        ["Line", "Column", "Problem", "Blocks the import"],
        ["1", "Extra", "unknown column, ignored", "no"],
        ["2", "Weight (g)", "'heavy' is not a whole number", "yes"],
    ]


def test_upload_over_the_limit_is_a_field_error(owner_client, campaign):
    big = _upload(b"Code,Name\n" + b"A" * (5 * 1024 * 1024))
    response = owner_client.post(reverse("sku-import", args=[campaign.slug]), {"file": big})
    assert response.status_code == 400
    assert (
        response.context["form"].errors["file"][0]
        == "The file is 5.1 MB; the limit for a SKU list is 5 MB."
    )
    assert not SkuImport.objects.exists()


def test_unreadable_upload_is_a_field_error(owner_client, campaign):
    response = owner_client.post(
        reverse("sku-import", args=[campaign.slug]), {"file": _upload(b"", name="empty.csv")}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert not SkuImport.objects.exists()
