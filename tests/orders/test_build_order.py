"""build_order: a backer's order from the pledge, the survey answers and the SKU map."""

from decimal import Decimal

import pytest

from orders.errors import OrderLocked
from orders.errors_build import SmokeTestResponse
from orders.models import (
    AddressSource,
    EventKind,
    HoldReason,
    LineSource,
    Order,
    OrderAddress,
    OrderEvent,
    OrderState,
)
from orders.services.building import build_order, build_order_for_backer
from orders.services.states import change_state
from tests.factories import PledgeFactory

from .conftest_bld import (  # noqa: F401
    US_ADDRESS,
    bld_fresh_catalog_cache,
    bld_world,
    checked,
    make_response,
)

pytestmark = pytest.mark.django_db


def _lines(order):
    return [(line.sku_code, line.quantity, line.source) for line in order.lines.all()]


def test_the_first_build_creates_a_draft_order_with_the_reward_lines(w):
    response = make_response(w)
    order = build_order(response=response)
    assert order.state == OrderState.DRAFT
    assert order.number == 1
    assert order.response == response
    assert _lines(order) == [
        ("BOX", 1, LineSource.REWARD),
        ("", 1, LineSource.CHOICE_PENDING),
        ("GOAL-1", 1, LineSource.STRETCH_GOAL),
    ]


def test_a_reward_line_carries_the_skus_weight_and_customs_data(w):
    order = build_order(response=make_response(w))
    line = order.lines.get(sku=w.box)
    assert (line.description, line.unit_weight_g, line.hs_code, line.country_of_origin) == (
        "Core box",
        1200,
        "950490",
        "CN",
    )
    assert line.customs_value.amount == Decimal("20.00")
    assert line.detail == "Core box"


def test_a_chosen_option_becomes_a_choice_line(w):
    option = w.colour.options.get(label="Blue")
    order = build_order(response=make_response(w, choices={w.colour.pk: [option.pk]}))
    line = order.lines.get(source=LineSource.CHOICE)
    assert (line.sku, line.detail) == (w.blue, "Colour: Blue")


def test_a_stretch_goal_line_names_the_goal(w):
    order = build_order(response=make_response(w))
    assert order.lines.get(source=LineSource.STRETCH_GOAL).detail == "Extra tiles"


def test_survey_add_on_lines_carry_the_cart_price_split_over_the_offer_items(w):
    response = make_response(w, cart=[(w.offer, 2)])
    order = build_order(response=response)
    dice = order.lines.get(sku=w.dice)
    bag = order.lines.get(sku=w.bag)
    assert (dice.source, dice.quantity, bag.quantity) == (LineSource.ADDON, 4, 2)
    assert dice.line_total.amount + bag.line_total.amount == Decimal("30.00")
    assert (dice.line_total.amount, dice.unit_price.amount) == (Decimal("20.00"), Decimal("5.00"))


def test_pledged_items_cost_nothing_on_the_order(w):
    order = build_order(response=make_response(w))
    assert order.lines.get(sku=w.box).line_total.amount == 0


def test_a_platform_add_on_without_a_mapping_is_an_unmapped_line(w):
    order = build_order(response=make_response(w, addons_text="Sleeve pack x 2"))
    line = order.lines.get(source=LineSource.ADDON_UNMAPPED)
    assert (line.sku, line.quantity, line.detail) == (None, 2, "Sleeve pack")


def test_a_regional_rule_substitutes_the_german_edition(w):
    address = {**US_ADDRESS, "country_code": "DE", "postal_code": "10115", "city": "Berlin"}
    order = build_order(response=make_response(w, address=address))
    line = order.lines.get(sku=w.box_de)
    assert line.source == LineSource.REGIONAL
    assert "German edition" in line.detail
    assert not order.lines.filter(sku=w.box).exists()


def test_a_regional_opt_out_keeps_the_original_sku(w):
    address = {**US_ADDRESS, "country_code": "DE", "postal_code": "10115", "city": "Berlin"}
    response = make_response(w, address=address)
    response.regional_opt_outs = [w.rule.pk]
    response.save()
    order = build_order(response=response)
    assert order.lines.filter(sku=w.box, source=LineSource.REWARD).exists()


def test_a_choice_the_map_no_longer_has_counts_as_not_chosen(w):
    response = make_response(w, choices={w.colour.pk: [999999]})
    order = build_order(response=response)
    assert order.lines.filter(source=LineSource.CHOICE_PENDING).exists()


def test_money_comes_from_the_response_snapshot(w):
    response = make_response(
        w, cart=[(w.offer, 1)], completed=True, paid=False, shipping=Decimal("7.50")
    )
    order = build_order(response=response)
    assert order.goods_total.amount == Decimal("15.00")
    assert order.shipping_fee.amount == Decimal("7.50")
    assert order.total.amount == Decimal("22.50")
    assert order.balance_due.amount == Decimal("22.50")
    assert order.currency == "USD"


def test_credit_pays_first_and_lowers_the_balance(w):
    response = make_response(w, cart=[(w.offer, 1)], completed=True, paid=False)
    response.credit = response.credit.__class__(Decimal("10.00"), "USD")
    response.save()
    order = build_order(response=response)
    assert (order.credit_applied.amount, order.balance_due.amount) == (
        Decimal("10.00"),
        Decimal("5.00"),
    )


def test_a_completed_survey_submits_the_order_and_without_holds_it_is_ready(w):
    option = w.colour.options.first()
    response = make_response(w, choices={w.colour.pk: [option.pk]}, completed=True)
    order = build_order(response=response)
    assert order.state == OrderState.SUBMITTED  # its new address waits for the check
    assert order.submitted_at is not None
    assert checked(order).state == OrderState.READY


def test_the_first_build_writes_a_created_event(w):
    order = build_order(response=make_response(w))
    event = OrderEvent.objects.get(order=order, kind=EventKind.CREATED)
    assert "1 × BOX" in event.after["lines"]


def test_rebuilding_without_changes_writes_nothing_new(w):
    response = make_response(w)
    order = build_order(response=response)
    events = OrderEvent.objects.filter(order=order).count()
    line_ids = list(order.lines.values_list("pk", flat=True))
    again = build_order(response=response)
    assert again.pk == order.pk
    assert OrderEvent.objects.filter(order=order).count() == events
    assert list(again.lines.values_list("pk", flat=True)) == line_ids
    assert OrderAddress.objects.filter(order=order).count() == 1


def test_changed_lines_are_logged_with_before_and_after(w):
    response = make_response(w)
    order = build_order(response=response)
    response.choices = {str(w.colour.pk): [w.colour.options.get(label="Red").pk]}
    response.save()
    build_order(response=response)
    event = OrderEvent.objects.get(order=order, kind=EventKind.LINES)
    assert "1 × Colour" in event.before["lines"]
    assert "1 × MEEPLE-RED" in event.after["lines"]


def test_the_survey_address_becomes_the_first_address_version(
    w, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        order = build_order(response=make_response(w))
    address = order.address
    assert (address.version, address.source, address.city, address.country) == (
        1,
        AddressSource.SURVEY,
        "Mountain View",
        "US",
    )
    assert order.country == "US"
    assert len(callbacks) == 1


def test_a_changed_survey_address_makes_a_new_version(w):
    response = make_response(w)
    order = build_order(response=response)
    response.address = {**US_ADDRESS, "street_address": "1 Infinite Loop", "postal_code": "95014"}
    response.save()
    order = build_order(response=response)
    assert order.address.version == 2
    assert OrderEvent.objects.filter(order=order, kind=EventKind.ADDRESS).count() == 2


def test_a_rebuild_keeps_a_staff_correction_of_the_address(w):
    from orders.services.addresses import record_address
    from tests.factories import UserFactory

    response = make_response(w)
    order = build_order(response=response)
    fields = {**order.address.as_dict(), "postal_code": "94040"}
    record_address(order=order, fields=fields, source=AddressSource.STAFF, actor=UserFactory())
    order = build_order(response=response)
    assert (order.address.version, order.address.postal_code) == (2, "94040")


def test_a_locked_order_is_refused_and_unchanged(w):
    option = w.colour.options.first()
    response = make_response(w, choices={w.colour.pk: [option.pk]}, completed=True)
    order = checked(build_order(response=response))
    change_state(order=order, to=OrderState.LOCKED)
    response.address = {**US_ADDRESS, "city": "Palo Alto"}
    response.save()
    with pytest.raises(OrderLocked):
        build_order(response=response)
    order.refresh_from_db()
    assert order.address.city == "Mountain View"


def test_a_backer_without_a_response_gets_a_draft_from_the_pledge(w):
    pledge = PledgeFactory(backer__campaign=w.campaign, reward=w.reward)
    order = build_order_for_backer(backer=pledge.backer)
    assert order.state == OrderState.DRAFT
    assert order.response is None
    assert order.address.source == AddressSource.IMPORT
    assert order.country == "SE"


def test_every_backer_gets_one_standard_order(w):
    response = make_response(w)
    build_order(response=response)
    build_order(response=response)
    assert Order.objects.filter(backer=response.backer).count() == 1


def test_a_missing_choice_holds_a_completed_order(w):
    order = build_order(response=make_response(w, completed=True))
    assert order.state == OrderState.SUBMITTED
    assert order.holds.get(cleared_at__isnull=True).reason == HoldReason.MISSING_CHOICE


def test_a_test_response_never_becomes_an_order(w):
    response = make_response(w)
    response.is_test = True
    response.save()
    with pytest.raises(SmokeTestResponse):
        build_order(response=response)
    assert not Order.objects.exists()


def test_a_new_address_sends_a_ready_order_back_until_it_is_checked(w):
    option = w.colour.options.first()
    response = make_response(w, choices={w.colour.pk: [option.pk]}, completed=True)
    order = checked(build_order(response=response))
    assert order.state == OrderState.READY
    response.address = {**US_ADDRESS, "city": "Palo Alto", "postal_code": "94301"}
    response.save()
    order = build_order(response=response)
    assert order.state == OrderState.SUBMITTED
    assert checked(order).state == OrderState.READY
