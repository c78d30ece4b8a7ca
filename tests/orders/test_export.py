"""Warehouse exports: the three built-in templates and a custom one against golden
files, XLSX read back, formula neutralisation, only locked orders, re-export only
when chosen, the batch record, the command and a constant number of queries.

Golden files: tests/orders/golden/. After a deliberate change, rewrite them with
UPDATE_GOLDEN=1 and read the diff."""

import io
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from orders.errors_lock import ExportTemplateInvalid, NothingToExport
from orders.exports.fields import PER_LINE, PER_ORDER_SKUS, SHIPSTATION
from orders.exports.services import (
    batch_rows,
    create_export_template,
    export_orders,
    template_named,
    update_export_template,
)
from orders.exports.writers import write_csv, xlsx_tempfile
from orders.models import (
    EventKind,
    ExportBatch,
    ExportBatchOrder,
    ExportLayout,
    Order,
    OrderAddress,
    OrderEvent,
    OrderState,
    Tag,
)
from orders.services.locking import unlock_order
from tests.factories import (
    CampaignFactory,
    OrderFactory,
    OrderLineFactory,
    PledgeFactory,
    SkuFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
S = OrderState
GOLDEN = Path(__file__).parent / "golden"
WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def make_order(campaign, number, *, state=S.LOCKED, address=None, lines=(), **fields):
    backer = PledgeFactory(backer__campaign=campaign).backer
    order = OrderFactory(
        backer=backer,
        campaign=campaign,
        number=number,
        state=state,
        name=fields.pop("name", f"Backer {number}"),
        email=fields.pop("email", f"backer{number}@example.net"),
        submitted_at=WHEN,
        locked_at=WHEN,
        **fields,
    )
    if address is not None:
        order.address = OrderAddress.objects.create(
            order=order, version=1, source="survey", **address
        )
        order.save(update_fields=["address"])
    for position, (sku, quantity) in enumerate(lines):
        OrderLineFactory(
            order=order,
            position=position,
            sku=sku,
            sku_code=sku.code,
            description=sku.name,
            quantity=quantity,
            unit_weight_g=sku.weight_g,
            customs_value=Decimal("12.50"),
            hs_code=sku.hs_code,
            country_of_origin=sku.country_of_origin,
        )
    return order


@pytest.fixture
def shop():
    """A campaign with two locked orders (DE with an IOSS number, US with two lines),
    one ready order and one cancelled: only the two locked ones export."""
    campaign = CampaignFactory(slug="skyforge", name="Skyforge")
    org = campaign.organization
    game = SkuFactory(organization=org, code="GAME-CORE", name="Skyforge core box", weight_g=1800)
    dice = SkuFactory(organization=org, code="DICE-RED", name="Red dice set", weight_g=120)
    de = make_order(
        campaign,
        1,
        address={
            "name": "Jürgen Weiß",
            "street_address": "Hauptstraße 5\nHinterhaus",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
            "phone": "+49 30 123456",
        },
        lines=[(game, 1)],
        country="DE",
        customs_number="IM2760000001",
        shipping_method="EU standard",
        weight_g=1800,
    )
    us = make_order(
        campaign,
        2,
        address={
            "name": "Ada Lovelace",
            "company": "Analytical Ltd",
            "street_address": "1 Main St\nApt 4\nBuilding C",
            "city": "Springfield",
            "country_area": "IL",
            "postal_code": "62701",
            "country": "US",
        },
        lines=[(game, 1), (dice, 3)],
        country="US",
        shipping_method="US ground",
        weight_g=2160,
        total=Decimal("45.00"),
        paid_total=Decimal("45.00"),
        shipping_fee=Decimal("15.00"),
    )
    us.tags.add(Tag.objects.create(campaign=campaign, name="VIP"))
    make_order(campaign, 3, state=S.READY, lines=[(dice, 1)])
    make_order(campaign, 4, state=S.CANCELLED, lines=[(dice, 1)])
    return campaign, de, us


def run(campaign, template, *, fmt="csv", include_exported=False, actor=None):
    batch, rows = export_orders(
        campaign=campaign,
        template=template,
        fmt=fmt,
        include_exported=include_exported,
        actor=actor,
    )
    return batch, rows


def csv_text(rows) -> str:
    out = io.StringIO(newline="")
    write_csv(rows, out)
    return out.getvalue()


def assert_golden(name: str, text: str):
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_bytes().decode("utf-8")


def test_per_line_template_matches_its_golden_file(shop):
    campaign, _de, _us = shop
    _batch, rows = run(campaign, PER_LINE)
    assert_golden("per_line.csv", csv_text(rows))


def test_per_order_sku_columns_template_matches_its_golden_file(shop):
    campaign, _de, _us = shop
    _batch, rows = run(campaign, PER_ORDER_SKUS)
    assert_golden("per_order_skus.csv", csv_text(rows))


def test_shipstation_template_matches_its_golden_file(shop):
    campaign, _de, _us = shop
    _batch, rows = run(campaign, SHIPSTATION)
    assert_golden("shipstation.csv", csv_text(rows))


def test_custom_template_chooses_renames_and_orders_columns(shop):
    campaign, _de, _us = shop
    create_export_template(
        campaign=campaign,
        name="Warehouse A",
        layout=ExportLayout.PER_ORDER,
        columns=[
            {"field": "country", "header": "Land"},
            {"field": "order_number", "header": "Bestellung"},
            {"field": "tags", "header": ""},
            {"field": "item_count", "header": "Stück"},
            {"field": "total", "header": "Summe"},
        ],
    )
    _batch, rows = run(campaign, template_named(campaign=campaign, name="warehouse a"))
    assert_golden("custom_per_order.csv", csv_text(rows))


def test_xlsx_reads_back_with_the_same_cells(shop):
    campaign, _de, _us = shop
    _batch, rows = run(campaign, PER_ORDER_SKUS, fmt="xlsx")
    with xlsx_tempfile(rows, title="Skyforge") as handle:
        sheet = load_workbook(handle, read_only=True).active
        cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0][:2] == ["Order number", "Recipient"]
    assert cells[0][-2:] == ["DICE-RED", "GAME-CORE"]
    assert cells[1][0] == 1 and cells[1][-2:] == [0, 1]
    assert cells[2][1] == "Ada Lovelace" and cells[2][-2:] == [3, 1]


def test_formula_looking_values_are_neutralised(shop):
    campaign, de, _us = shop
    de.address.name = '=HYPERLINK("http://evil")'
    de.address.city = "+Berlin"
    de.address.phone = "@SUM(A1)"
    de.address.street_address = "-2+3\n=cmd|' /C calc'!A0"
    de.address.save()
    _batch, rows = run(campaign, PER_LINE)
    header, first, *_ = list(rows)
    row = dict(zip(header, first, strict=True))
    assert row["Recipient"] == '\'=HYPERLINK("http://evil")'
    assert row["Address line 1"] == "'-2+3" and row["Address line 2"] == "'=cmd|' /C calc'!A0"
    assert row["City"] == "'+Berlin" and row["Phone"] == "'@SUM(A1)"


def test_formula_looking_header_of_a_custom_template_is_neutralised(shop):
    campaign, _de, _us = shop
    template = create_export_template(
        campaign=campaign,
        name="Evil",
        layout=ExportLayout.PER_ORDER,
        columns=[{"field": "order_number", "header": "=1+1"}],
    )
    _batch, rows = run(campaign, template_named(campaign=campaign, name=template.name))
    assert next(iter(rows)) == ("'=1+1",)


def test_only_locked_orders_are_exported(shop):
    campaign, de, us = shop
    batch, rows = run(campaign, PER_LINE)
    list(rows)
    assert set(ExportBatchOrder.objects.filter(batch=batch).values_list("order_id", flat=True)) == {
        de.pk,
        us.pk,
    }


def test_deleting_an_order_or_a_batch_removes_its_batch_entries_and_events(shop):
    """Entries and events keep no foreign-key constraint in the database (see the
    models): the ORM's cascade is what removes them."""
    campaign, de, us = shop
    first, rows = run(campaign, PER_LINE)
    list(rows)
    second, rows = run(campaign, PER_LINE, include_exported=True)
    list(rows)
    assert OrderEvent.objects.filter(order_id=de.pk, kind=EventKind.EXPORT).count() == 2
    de_pk = de.pk
    de.delete()
    assert not OrderEvent.objects.filter(order_id=de_pk).exists()
    assert set(ExportBatchOrder.objects.values_list("batch_id", "order_id")) == {
        (first.pk, us.pk),
        (second.pk, us.pk),
    }
    first.delete()
    assert set(ExportBatchOrder.objects.values_list("batch_id", "order_id")) == {(second.pk, us.pk)}


def test_batch_records_its_orders_and_marks_them_exported(shop):
    campaign, de, us = shop
    user = UserFactory()
    batch, rows = run(campaign, PER_LINE, actor=user)
    list(rows)
    batch.refresh_from_db()
    assert (batch.order_count, batch.row_count, batch.created_by) == (2, 3, user)
    assert batch.finished_at is not None
    de.refresh_from_db()
    assert de.exported_at is not None and de.export_count == 1
    event = OrderEvent.objects.get(order=de, kind=EventKind.EXPORT)
    assert (event.actor, event.after) == (user, {"batch": batch.pk})


def test_exported_orders_are_left_out_of_the_next_export(shop):
    campaign, _de, _us = shop
    _batch, rows = run(campaign, PER_LINE)
    list(rows)
    with pytest.raises(NothingToExport, match="include orders already exported"):
        run(campaign, PER_LINE)
    assert ExportBatch.objects.count() == 1


def test_exported_orders_go_again_when_chosen(shop):
    campaign, de, _us = shop
    run(campaign, PER_LINE)
    batch, rows = run(campaign, PER_LINE, include_exported=True)
    list(rows)
    de.refresh_from_db()
    assert batch.order_count == 2 and de.export_count == 2


def test_nothing_to_export_without_locked_orders():
    with pytest.raises(NothingToExport, match="Lock orders first"):
        run(CampaignFactory(), PER_LINE)


def test_custom_template_refuses_line_fields_in_a_per_order_layout():
    with pytest.raises(ExportTemplateInvalid):
        create_export_template(
            campaign=CampaignFactory(),
            name="Bad",
            layout=ExportLayout.PER_ORDER,
            columns=[{"field": "sku", "header": "SKU"}],
        )


def test_custom_template_refuses_an_unknown_field():
    with pytest.raises(ExportTemplateInvalid):
        create_export_template(
            campaign=CampaignFactory(),
            name="Bad",
            layout=ExportLayout.PER_LINE,
            columns=[{"field": "password", "header": "x"}],
        )


def test_custom_template_cannot_take_a_built_in_name():
    with pytest.raises(ExportTemplateInvalid):
        create_export_template(
            campaign=CampaignFactory(),
            name="ShipStation order import",
            layout=ExportLayout.PER_LINE,
            columns=[{"field": "sku", "header": "x"}],
        )


def test_template_update_renames_and_reorders():
    campaign = CampaignFactory()
    template = create_export_template(
        campaign=campaign,
        name="A",
        layout=ExportLayout.PER_ORDER,
        columns=[{"field": "order_number", "header": ""}, {"field": "city", "header": ""}],
    )
    update_export_template(
        template=template,
        name="B",
        layout=ExportLayout.PER_ORDER,
        columns=[{"field": "city", "header": "Ort"}, {"field": "order_number", "header": ""}],
    )
    template.refresh_from_db()
    assert template.name == "B"
    assert template.columns == [
        {"field": "city", "header": "Ort"},
        {"field": "order_number", "header": "Order number"},
    ]


def _export_queries(campaign) -> int:
    with CaptureQueriesContext(connection) as queries:
        _batch, rows = run(campaign, PER_LINE, include_exported=True)
        list(rows)
    return len(queries)


def test_export_query_count_does_not_grow_with_the_orders(shop):
    campaign, _de, _us = shop
    few = _export_queries(campaign)
    sku = SkuFactory(organization=campaign.organization)
    for number in range(10, 30):
        make_order(campaign, number, lines=[(sku, 1), (sku, 2)])
    assert _export_queries(campaign) == few


def test_export_orders_command_writes_the_file(shop, tmp_path):
    campaign, _de, _us = shop
    out = tmp_path / "orders.csv"
    call_command(
        "export_orders", campaign.slug, "--template", "shipstation", "--out", str(out), verbosity=0
    )
    assert out.read_text(encoding="utf-8").startswith("\ufeffOrder Number,Order Date")
    assert ExportBatch.objects.get().order_count == 2


def test_export_orders_command_writes_xlsx(shop, tmp_path):
    campaign, _de, _us = shop
    out = tmp_path / "orders.xlsx"
    call_command(
        "export_orders",
        campaign.slug,
        "--template",
        "per-line",
        "--format",
        "xlsx",
        "--out",
        str(out),
        verbosity=0,
    )
    sheet = load_workbook(out, read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 4


def test_export_orders_command_fails_when_everything_was_exported(shop, tmp_path):
    campaign, _de, _us = shop
    out = tmp_path / "orders.csv"
    call_command("export_orders", campaign.slug, "--template", "per-line", "--out", str(out))
    with pytest.raises(CommandError, match="exported before: give --include-exported"):
        call_command("export_orders", campaign.slug, "--template", "per-line", "--out", str(out))


def test_export_orders_command_takes_include_exported(shop, tmp_path):
    campaign, _de, _us = shop
    out = tmp_path / "orders.csv"
    call_command("export_orders", campaign.slug, "--template", "per-line", "--out", str(out))
    call_command(
        "export_orders",
        campaign.slug,
        "--template",
        "per-line",
        "--out",
        str(out),
        "--include-exported",
        verbosity=0,
    )
    assert ExportBatch.objects.count() == 2


def test_export_orders_command_fails_for_an_unknown_template(shop, tmp_path):
    campaign, _de, _us = shop
    with pytest.raises(CommandError, match="No export template"):
        call_command(
            "export_orders", campaign.slug, "--template", "nope", "--out", str(tmp_path / "x")
        )


def test_export_orders_command_marks_nothing_when_the_file_cannot_be_written(shop, tmp_path):
    campaign, de, _us = shop
    out = tmp_path / "no-such-folder" / "orders.csv"
    with pytest.raises(CommandError, match="Could not write"):
        call_command("export_orders", campaign.slug, "--template", "per-line", "--out", str(out))
    de.refresh_from_db()
    assert (ExportBatch.objects.count(), de.exported_at) == (0, None)


def test_export_orders_command_writes_a_past_batch_again_marking_nothing(shop, tmp_path):
    campaign, de, _us = shop
    first, again = tmp_path / "first.csv", tmp_path / "again.csv"
    call_command("export_orders", campaign.slug, "--template", "per-line", "--out", str(first))
    batch = ExportBatch.objects.get()
    out = io.StringIO()
    call_command(
        "export_orders", campaign.slug, "--batch", str(batch.pk), "--out", str(again), stdout=out
    )
    assert again.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
    assert f"export {batch.pk} again" in out.getvalue()
    de.refresh_from_db()
    assert (ExportBatch.objects.count(), de.export_count) == (1, 1)


def test_export_orders_command_needs_a_template_or_a_batch(shop, tmp_path):
    campaign, _de, _us = shop
    with pytest.raises(CommandError, match="--template"):
        call_command("export_orders", campaign.slug, "--out", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="no export 999"):
        call_command(
            "export_orders", campaign.slug, "--batch", "999", "--out", str(tmp_path / "x.csv")
        )


def test_a_past_batch_leaves_out_an_order_unlocked_since(shop):
    campaign, de, _us = shop
    batch, rows = run(campaign, PER_LINE)
    assert "Jürgen" in csv_text(rows)
    unlock_order(order=de, actor=UserFactory(), reason="Backer changed the dice colour")
    again = csv_text(batch_rows(batch=batch))
    assert "Jürgen" not in again and "Ada Lovelace" in again


def test_an_order_unlocked_after_its_export_goes_with_the_next_plain_export(shop):
    """What the warehouse has of it is out of date: once locked again, the next export
    sends it without "include orders already exported", and only it."""
    campaign, de, us = shop
    _first, rows = run(campaign, PER_LINE)
    list(rows)
    unlock_order(order=de, actor=UserFactory(), reason="Backer moved")
    de.refresh_from_db()
    assert de.exported_at is None and de.export_count == 1
    unlock = OrderEvent.objects.get(order=de, kind=EventKind.UNLOCK)
    assert unlock.after == {"state": de.state, "exported_at": None}
    Order.objects.filter(pk=de.pk).update(state=S.LOCKED)
    second, rows = run(campaign, PER_LINE)
    text = csv_text(rows)
    assert "Jürgen" in text and "Ada Lovelace" not in text
    de.refresh_from_db()
    assert de.export_count == 2 and second.order_count == 1


def test_a_past_batch_downloads_with_its_own_columns_after_the_template_changed(shop):
    """Renamed, edited, then deleted: the batch still downloads, with the columns it
    was written with."""
    campaign, _de, _us = shop
    template = create_export_template(
        campaign=campaign,
        name="My warehouse",
        layout=ExportLayout.PER_LINE,
        columns=[{"field": "order_number", "header": "Ref"}, {"field": "sku", "header": "Item"}],
    )
    batch, rows = run(campaign, template_named(campaign=campaign, name="My warehouse"))
    first = csv_text(rows)
    assert first.startswith("\ufeffRef,Item")
    update_export_template(
        template=template,
        name="Renamed",
        layout=ExportLayout.PER_LINE,
        columns=[{"field": "sku", "header": "SKU only"}],
    )
    assert csv_text(batch_rows(batch=batch)) == first
    template.delete()
    assert csv_text(batch_rows(batch=batch)) == first


def test_a_batch_from_before_the_columns_were_kept_downloads_by_its_template_name(shop):
    campaign, _de, _us = shop
    batch, rows = run(campaign, PER_LINE)
    first = csv_text(rows)
    ExportBatch.objects.filter(pk=batch.pk).update(layout="", columns=[])
    batch.refresh_from_db()
    assert csv_text(batch_rows(batch=batch)) == first


def test_two_columns_with_one_header_are_refused(shop):
    campaign, _de, _us = shop
    with pytest.raises(ExportTemplateInvalid, match="Column 3: the header “sku” is already used"):
        create_export_template(
            campaign=campaign,
            name="Twice",
            layout=ExportLayout.PER_LINE,
            columns=[
                {"field": "sku", "header": "SKU"},
                {"field": "order_number", "header": ""},
                {"field": "backer_email", "header": "sku"},
            ],
        )


def test_xlsx_writes_text_cells_and_phone_numbers_without_the_guards_apostrophe(shop):
    campaign, de, _us = shop
    de.address.name = '=HYPERLINK("http://evil")'
    de.address.save()
    _batch, rows = run(campaign, SHIPSTATION, fmt="xlsx")
    with xlsx_tempfile(rows, title="Skyforge") as handle:
        sheet = load_workbook(handle).active
        header = [cell.value for cell in sheet[1]]
        cells = {name: sheet.cell(row=2, column=n + 1) for n, name in enumerate(header)}
    phone = next(cell for name, cell in cells.items() if "phone" in name.lower())
    assert (phone.value, phone.data_type) == ("+49 30 123456", "s")
    recipient = next(c for c in cells.values() if "HYPERLINK" in str(c.value))
    assert recipient.value == '\'=HYPERLINK("http://evil")' and recipient.data_type == "s"


def test_the_built_in_templates_carry_the_district_and_the_sorting_code(shop):
    """A Brazilian bairro or a French CEDEX is part of the address on the label."""
    campaign, de, _us = shop
    de.address.city_area = "Mitte"
    de.address.sorting_code = "CEDEX 08"
    de.address.save()
    for template in (PER_LINE, PER_ORDER_SKUS):
        _batch, rows = run(campaign, template, include_exported=True)
        header, first, *_ = list(rows)
        row = dict(zip(header, first, strict=True))
        assert (row["District"], row["Sorting code"]) == ("Mitte", "CEDEX 08")
