"""build_orders' fast path (plans memoised per distinct pledge, COPY text rows) gives
the same orders as building them one by one and as the generic row path."""

from decimal import Decimal

import pytest

from orders.models import Order, OrderCounter, OrderState
from orders.services import bulk_building
from orders.services.addresses import validate_addresses
from orders.services.building import build_order_for_backer, line_key
from pledges.models import Backer
from tests.factories import PledgeFactory

from .conftest_bld import US_ADDRESS, bld_fresh_catalog_cache, bld_world, make_response  # noqa: F401

pytestmark = pytest.mark.django_db

DE_ADDRESS = {
    **US_ADDRESS,
    "name": "Grace\tHopper \\ Jr.",
    "street_address": "Hauptstr. 1\nHinterhaus",
    "city": "Berlin",
    "country_area": "",
    "postal_code": "10115",
    "country_code": "DE",
}


def _mixed_campaign(w):
    red = {w.colour.pk: [w.colour.options.get(label="Red").pk]}
    blue = {w.colour.pk: [w.colour.options.get(label="Blue").pk]}
    make_response(w)
    make_response(w, choices=red, completed=True)
    make_response(w, choices=red, completed=True)  # the same plan as the one before
    make_response(w, choices=blue, cart=[(w.offer, 2)], completed=True)
    make_response(w, choices=blue, cart=[(w.offer, 1)], completed=True, paid=False)
    make_response(w, choices=red, address=DE_ADDRESS, completed=True, language="de")
    make_response(w, address=DE_ADDRESS, cart=[(w.offer, 1)], addons_text="Sticker sheet")
    make_response(w, choices=red, completed=True, shipping=Decimal("12.00"), paid=False)
    PledgeFactory(backer__campaign=w.campaign, reward=w.reward)


def _snapshot(campaign) -> dict:
    """Everything a build decides about each backer's order, by backer."""
    result = {}
    for order in Order.objects.filter(campaign=campaign).select_related("address"):
        address = order.address
        result[order.backer_id] = {
            "state": order.state,
            "country": order.country,
            "language": order.language,
            "weight": order.weight_g,
            "fingerprint": order.build_fingerprint,
            "money": [
                getattr(order, name).amount
                for name in ("pledge_amount", "credit", "goods_total", "shipping_fee")
                + ("tax_total", "total", "credit_applied", "balance_due", "paid_total")
            ],
            "lines": [line_key(line) for line in order.lines.order_by("position")],
            "holds": sorted(
                (h.reason, h.detail) for h in order.holds.filter(cleared_at__isnull=True)
            ),
            "address": (address.as_dict(), address.source, address.version) if address else None,
        }
    return result


def _events(campaign) -> dict:
    return {
        order.backer_id: [
            (e.kind, e.message, e.actor_label, e.before, e.after)
            for e in order.events.order_by("id")
        ]
        for order in Order.objects.filter(campaign=campaign)
    }


def _forget_orders(campaign) -> None:
    Order.objects.filter(campaign=campaign).update(address=None)
    Order.objects.filter(campaign=campaign).delete()
    OrderCounter.objects.filter(campaign=campaign).delete()


def test_the_bulk_build_gives_the_orders_of_single_builds_for_a_mixed_campaign(w):
    _mixed_campaign(w)
    result = bulk_building.build_orders(campaign=w.campaign)
    bulk = _snapshot(w.campaign)
    _forget_orders(w.campaign)
    for backer in Backer.objects.filter(campaign=w.campaign):
        build_order_for_backer(backer=backer)
    single = _snapshot(w.campaign)
    assert (result.created, len(bulk)) == (9, 9)
    assert bulk == single


def test_the_mixed_campaign_has_drafts_holds_and_ready_orders(w):
    _mixed_campaign(w)
    bulk_building.build_orders(campaign=w.campaign)
    validate_addresses(campaign=w.campaign, send_emails=False)
    states = set(Order.objects.values_list("state", flat=True))
    assert states == {OrderState.DRAFT, OrderState.SUBMITTED, OrderState.READY}


@pytest.mark.postgres
def test_the_copy_rows_equal_the_generic_rows_including_the_timeline(w, monkeypatch):
    _mixed_campaign(w)
    bulk_building.build_orders(campaign=w.campaign)
    fast, fast_events = _snapshot(w.campaign), _events(w.campaign)
    _forget_orders(w.campaign)
    monkeypatch.setattr(bulk_building, "_format_new", lambda _c, _n, entries, _m: entries)
    bulk_building.build_orders(campaign=w.campaign)
    assert _snapshot(w.campaign) == fast
    assert _events(w.campaign) == fast_events


def test_a_second_bulk_run_over_a_mixed_campaign_changes_nothing(w):
    _mixed_campaign(w)
    bulk_building.build_orders(campaign=w.campaign)
    result = bulk_building.build_orders(campaign=w.campaign)
    assert (result.unchanged, result.created, result.updated) == (9, 0, 0)


def test_pledges_alike_share_lines_only_where_no_regional_rule_tells_their_countries_apart(
    w, monkeypatch
):
    """The memo keys a country by the regional rules naming it: DE and AT (the German
    edition) share one plan, FR and US (no rule) another, and each order still gets
    the lines a single build gives it."""
    red = {w.colour.pk: [w.colour.options.get(label="Red").pk]}
    for country, postal in (("US", "94103"), ("FR", "75001"), ("DE", "10115"), ("AT", "1010")):
        address = {**US_ADDRESS, "country_code": country, "country_area": "", "postal_code": postal}
        make_response(w, choices=red, address=address, completed=True)
    memo: dict = {}
    original = bulk_building.plan_order

    def planned(**kwargs):
        kwargs["lines_memo"] = memo
        return original(**kwargs)

    monkeypatch.setattr(bulk_building, "plan_order", planned)
    bulk_building.build_orders(campaign=w.campaign)
    bulk = _snapshot(w.campaign)
    assert len(memo) == 2
    skus = {
        Order.objects.get(backer_id=backer).country: [key[0] for key in order["lines"]]
        for backer, order in bulk.items()
    }
    assert skus["DE"] == skus["AT"] != skus["US"] == skus["FR"]
    _forget_orders(w.campaign)
    for backer in Backer.objects.filter(campaign=w.campaign):
        build_order_for_backer(backer=backer)
    assert _snapshot(w.campaign) == bulk
