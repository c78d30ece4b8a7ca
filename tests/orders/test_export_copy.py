"""The CSV of an export straight from PostgreSQL's COPY (orders.exports.pgcopy) is byte
for byte the CSV the Python rows write: every field, every layout, with text that
needs quoting, neutralising or stripping; the batch is finished the same way; the
command and the download view take it; what COPY cannot write stays with Python.
All but the last test need PostgreSQL; that one runs on both paths."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.exports import pgcopy
from orders.exports.fields import (
    FIELD_LIST,
    LINE,
    PER_LINE,
    PER_ORDER_SKUS,
    SHIPSTATION,
    ColumnTemplate,
    _unit_oz,
)
from orders.exports.rows import ExportRows
from orders.exports.services import batch_orders, export_orders
from orders.exports.writers import csv_chunks, row_csv_chunks
from orders.models import ExportBatch, ExportLayout, OrderAddress, OrderState, Tag
from tests.factories import (
    CampaignFactory,
    OrderFactory,
    OrderLineFactory,
    PledgeFactory,
    RewardFactory,
    SkuFactory,
)

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 11, 2, 9, 30, 15, 999999, tzinfo=UTC)
STREETS = [
    "Hauptstraße 5\nHinterhaus",
    "1 Main St\r\nApt 4\r\n\r\nBuilding C\nFloor 2",
    "  \t padded \n\n  second  \n",
    "line\u2028separated\x85too\x0bvertical\x0cform\x1cfile",
    "=cmd|' /C calc'!A0\n-2+3\n@x\n+y",
    "tabs\t\n\tinside",
    "\u3000ideographic\u3000\n\xa0nbsp\xa0",
    "only one line",
    "",
    '"quoted", with comma\nsecond, too',
]
TEXTS = [
    '=HYPERLINK("http://evil")',
    "+Berlin",
    "-minus",
    "@at",
    "\tTab first",
    "\rCR first",
    "comma, inside",
    'say "hi"',
    "two\nlines",
    "",
    "Zoë Åberg",
]


def text(n: int) -> str:
    return TEXTS[n % len(TEXTS)]


@pytest.fixture
def awkward(organization):
    """A campaign of locked orders whose every text needs care: formula starts,
    quotes, commas, line breaks, odd white space, empty values, no address, no lines,
    lines without a SKU code, tags."""
    campaign = CampaignFactory(slug="awkward", organization=organization)
    org = campaign.organization
    skus = [
        SkuFactory(organization=org, code=code, weight_g=weight)
        for code, weight in [("GAME", 1800), ("=EVIL", 7), ("DICE,RED", 120), ("Pin", 0)]
    ]
    reward = RewardFactory(campaign=campaign, title='+Tier, "deluxe"')
    vip = Tag.objects.create(campaign=campaign, name="VIP")
    late = Tag.objects.create(campaign=campaign, name="=late")
    for n, street in enumerate(STREETS):
        backer = PledgeFactory(backer__campaign=campaign).backer
        order = OrderFactory(
            backer=backer,
            campaign=campaign,
            number=n + 1,
            state=OrderState.LOCKED,
            name=text(n + 3) or "Fallback name",
            email=f"b{n}@example.net",
            reward=reward if n % 2 else None,
            submitted_at=WHEN,
            locked_at=WHEN if n % 3 else None,
            vat_number=text(n),
            customs_number=text(n + 1),
            tax_regime=text(n + 2),
            shipping_method=text(n + 4),
            shipping_zone=text(n + 5),
            ddp=bool(n % 2),
            weight_g=n * 1234,
            total=Decimal("45.00") + n,
            paid_total=Decimal("-3.10") * n,
            country="DE",
        )
        if n != 8:  # one order without an address
            order.address = OrderAddress.objects.create(
                order=order,
                version=1,
                source="survey",
                name=text(n),
                company=text(n + 6),
                street_address=street,
                city=text(n + 7),
                city_area=text(n + 8),
                country_area=text(n + 9),
                postal_code=text(n + 10),
                sorting_code=text(n + 2),
                country="" if n % 4 == 0 else "US",
                phone=text(n + 1),
            )
            order.save(update_fields=["address"])
        if n % 3 == 0:
            order.tags.add(vip, late)
        elif n % 3 == 1:
            order.tags.add(late)
        if n == 5:  # an order without lines
            continue
        for position, sku in enumerate(skus[: 1 + n % 4]):
            OrderLineFactory(
                order=order,
                position=3 - position,
                sku=sku,
                sku_code=sku.code,
                description=text(n + position),
                quantity=position + 1,
                unit_weight_g=sku.weight_g + n,
                customs_value=Decimal("12.50") + position,
                hs_code=text(n + position + 1)[:10],
                country_of_origin="CN",
                unit_price=Decimal("0.99") * position,
                line_total=Decimal("0.99") * position * (position + 1),
                detail=text(n + position + 2),
            )
        OrderLineFactory(
            order=order, sku=None, sku_code="", description="Custom item", quantity=2, position=9
        )
    OrderFactory(backer=PledgeFactory(backer__campaign=campaign).backer, campaign=campaign)
    return campaign


def exported(campaign, template):
    batch, rows = export_orders(
        campaign=campaign, template=template, fmt="csv", include_exported=True
    )
    return batch, rows


def python_csv(batch, template) -> str:
    rows = ExportRows(template=template, orders=batch_orders(batch), batch_id=batch.pk)
    return "".join(row_csv_chunks(iter(rows)))


def copy_csv(batch, template) -> str:
    rows = ExportRows(template=template, orders=batch_orders(batch), batch_id=batch.pk)
    with CaptureQueriesContext(connection) as queries:
        text_ = "".join(csv_chunks(rows))
    assert any(query["sql"].startswith("COPY (") for query in queries)
    return text_


ORDER_KEYS = tuple(f.key for f in FIELD_LIST if f.level != LINE)
ALL_PER_LINE = ColumnTemplate(
    name="All fields",
    layout=ExportLayout.PER_LINE,
    columns=tuple((f.key, f.label) for f in FIELD_LIST),
)
ALL_PER_ORDER = ColumnTemplate(
    name="All order fields",
    layout=ExportLayout.PER_ORDER,
    columns=tuple((key, key) for key in ORDER_KEYS),
)
ALL_PER_ORDER_SKUS = ColumnTemplate(
    name="All order fields by SKU",
    layout=ExportLayout.PER_ORDER_SKU_COLUMNS,
    columns=tuple((key, key) for key in ORDER_KEYS),
)


@pytest.mark.parametrize(
    "template",
    [PER_LINE, PER_ORDER_SKUS, SHIPSTATION, ALL_PER_LINE, ALL_PER_ORDER, ALL_PER_ORDER_SKUS],
    ids=lambda t: t.name,
)
@pytest.mark.postgres
def test_copy_writes_the_same_csv_as_the_python_rows(awkward, template):
    batch, _rows = exported(awkward, template)
    assert copy_csv(batch, template) == python_csv(batch, template)


@pytest.mark.postgres
def test_copy_export_records_the_row_count_and_finish(awkward):
    batch, rows = exported(awkward, PER_LINE)
    text_ = "".join(csv_chunks(rows))
    batch.refresh_from_db()
    lines = sum(1 for _ in ExportRows(template=PER_LINE, orders=batch_orders(batch), batch_id=0))
    assert batch.row_count == lines - 1 and batch.finished_at is not None
    assert text_.startswith("\ufeffOrder number,")


@pytest.mark.postgres
def test_copy_export_of_a_template_with_one_column_stays_with_python(awkward):
    template = ColumnTemplate(
        name="One", layout=ExportLayout.PER_ORDER, columns=(("company", "C"),)
    )
    batch, rows = exported(awkward, template)
    with CaptureQueriesContext(connection) as queries:
        text_ = "".join(csv_chunks(rows))
    assert not any(query["sql"].startswith("COPY") for query in queries)
    assert '\r\n""\r\n' in text_  # csv quotes a row's only empty cell


@pytest.mark.postgres
def test_copy_export_with_more_sku_columns_than_copy_takes_stays_with_python(awkward, monkeypatch):
    monkeypatch.setattr(pgcopy, "MAX_COLUMNS", len(PER_ORDER_SKUS.columns) + 2)
    batch, rows = exported(awkward, PER_ORDER_SKUS)
    with CaptureQueriesContext(connection) as queries:
        text_ = "".join(csv_chunks(rows))
    assert not any(query["sql"].startswith("COPY") for query in queries)
    assert text_ == python_csv(batch, PER_ORDER_SKUS)


@pytest.mark.parametrize("chunk_rows", [1, 1000])
@pytest.mark.postgres
def test_copy_export_rows_end_in_crlf_and_keep_line_breaks_inside_cells(
    awkward, monkeypatch, chunk_rows
):
    monkeypatch.setattr(pgcopy, "CHUNK_ROWS", chunk_rows)
    batch, _rows = exported(awkward, ALL_PER_ORDER)
    text_ = copy_csv(batch, ALL_PER_ORDER)
    assert text_.count("\r\n") == batch.order_count + 1
    assert '"two\nlines"' in text_
    assert text_ == python_csv(batch, ALL_PER_ORDER)


@pytest.mark.postgres
def test_sql_street_lines_match_python_for_awkward_streets():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s, CASE WHEN s ~ %s THEN regexp_split_to_array(btrim(s, %s), %s) "
            "ELSE string_to_array(s, chr(10)) END FROM unnest(%s::text[]) s",
            [pgcopy.STREET_IRREGULAR, pgcopy.WHITESPACE, pgcopy.STREET_BREAK, STREETS],
        )
        found = {street: lines for street, lines in cursor.fetchall()}
    for street in STREETS:
        expected = [part.strip() for part in street.splitlines() if part.strip()]
        assert found[street] == expected or (found[street] == [""] and expected == [])


@pytest.mark.postgres
def test_sql_ounces_match_python_for_every_weight_up_to_100_kg():
    field = next(f for f in FIELD_LIST if f.key == "unit_weight_oz")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.unit_weight_g, ({field.expression})::text "  # noqa: S608
            "FROM generate_series(0, 100000) AS l(unit_weight_g)"
        )
        mismatches = [
            (grams, text_)
            for grams, text_ in cursor.fetchall()
            if _unit_oz((0, "", "", 1, grams)) != text_
        ]
    assert mismatches == []


@pytest.mark.postgres
def test_export_command_writes_the_copy_csv(awkward, tmp_path):
    out = tmp_path / "orders.csv"
    call_command(
        "export_orders", "awkward", "--template", "shipstation", "--out", str(out), verbosity=0
    )
    batch = ExportBatch.objects.get()
    assert out.read_bytes().decode("utf-8") == python_csv(batch, SHIPSTATION)
    assert batch.row_count > 0


@pytest.mark.postgres
def test_download_view_streams_the_copy_csv(awkward, owner_client):
    batch, rows = exported(awkward, PER_LINE)
    "".join(csv_chunks(rows))
    url = reverse("order-export-download", args=[awkward.slug, batch.pk])
    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get(url)
        body = b"".join(response.streaming_content).decode("utf-8")
    assert any(query["sql"].startswith("COPY (") for query in queries)
    assert body == python_csv(batch, PER_LINE)


@pytest.mark.parametrize("template", [PER_LINE, PER_ORDER_SKUS], ids=lambda t: t.name)
def test_export_narrowed_by_a_join_records_each_order_once(awkward, template):
    tagged = awkward.orders.filter(tags__name__in=["VIP", "=late"])  # both tags: two rows
    batch, rows = export_orders(
        campaign=awkward, template=template, fmt="csv", include_exported=False, orders=tagged
    )
    "".join(csv_chunks(rows))
    expected = set(tagged.filter(state=OrderState.LOCKED).values_list("pk", flat=True))
    assert set(batch_orders(batch).values_list("pk", flat=True)) == expected
    assert batch.order_count == len(expected)
    assert awkward.orders.filter(pk__in=expected, export_count=1).count() == len(expected)
