"""The holds a build opens and clears by itself, each following its cause."""

from decimal import Decimal

import pytest
from django.utils import timezone
from djmoney.money import Money

from orders.models import HoldReason, OrderHold, OrderState
from orders.services.building import build_order
from orders.services.holds import clear_hold
from orders.services.review_rules import looks_like_po_box
from pledges.models import DuplicateGroup, DuplicateStatus
from tests.factories import UserFactory

from .conftest_bld import (  # noqa: F401
    US_ADDRESS,
    bld_fresh_catalog_cache,
    bld_world,
    checked,
    make_response,
    review_rules,
)

pytestmark = pytest.mark.django_db


def _open(order) -> dict[str, str]:
    return dict(
        OrderHold.objects.filter(order=order, cleared_at__isnull=True).values_list(
            "reason", "detail"
        )
    )


def _chosen(w):
    return {w.colour.pk: [w.colour.options.get(label="Red").pk]}


def test_missing_choice_opens_with_the_group_named(w):
    order = build_order(response=make_response(w, completed=True))
    assert _open(order) == {HoldReason.MISSING_CHOICE: "Choice not made: Colour"}


def test_missing_choice_names_an_unmapped_platform_add_on(w):
    response = make_response(w, choices=_chosen(w), addons_text="Sleeve pack x 1")
    order = build_order(response=response)
    assert _open(order) == {HoldReason.MISSING_CHOICE: "Add-on not mapped: Sleeve pack"}


def test_missing_choice_clears_when_the_choice_is_made(w):
    response = make_response(w, completed=True)
    order = checked(build_order(response=response))
    response.choices = {str(k): v for k, v in _chosen(w).items()}
    response.save()
    order = build_order(response=response)
    assert _open(order) == {}
    assert order.state == OrderState.READY


def test_payment_due_opens_while_a_balance_is_unpaid(w):
    response = make_response(w, choices=_chosen(w), cart=[(w.offer, 1)], completed=True, paid=False)
    order = build_order(response=response)
    assert _open(order) == {HoldReason.PAYMENT_DUE: "15.00 USD due"}


def test_payment_due_clears_when_the_response_is_paid(w):
    response = make_response(w, choices=_chosen(w), cart=[(w.offer, 1)], completed=True, paid=False)
    order = build_order(response=response)
    response.paid_at = timezone.now()
    response.save()
    order = build_order(response=response)
    assert _open(order) == {}


def _duplicate(response, status=DuplicateStatus.OPEN):
    group = DuplicateGroup.objects.create(
        campaign=response.backer.campaign, reason="same_email", key="a@b", status=status
    )
    response.backer.duplicate_group = group
    response.backer.save()
    return group


def test_duplicate_backer_opens_for_a_backer_in_an_open_duplicate_group(w):
    response = make_response(w, choices=_chosen(w), completed=True)
    _duplicate(response)
    order = build_order(response=response)
    assert HoldReason.DUPLICATE_BACKER in _open(order)


def test_duplicate_backer_clears_when_the_group_is_kept_apart(w):
    response = make_response(w, choices=_chosen(w), completed=True)
    group = _duplicate(response)
    order = build_order(response=response)
    group.status = DuplicateStatus.KEPT_APART
    group.save()
    order = build_order(response=response)
    assert _open(order) == {}


def test_manual_review_opens_above_the_value_limit(w):
    review_rules(w.campaign, value_above=Money("10.00", "USD"))
    response = make_response(w, choices=_chosen(w), cart=[(w.offer, 1)], completed=True)
    order = build_order(response=response)
    assert _open(order) == {HoldReason.MANUAL_REVIEW: "Order value 15.00 above 10.00"}


def test_manual_review_clears_when_the_value_drops_below_the_limit(w):
    review_rules(w.campaign, value_above=Money("10.00", "USD"))
    response = make_response(w, choices=_chosen(w), cart=[(w.offer, 1)], completed=True)
    build_order(response=response)
    response.cart.all().delete()
    response.addons_total = Money(Decimal("0"), "USD")
    response.save()
    order = build_order(response=response)
    assert _open(order) == {}


def test_manual_review_opens_for_a_listed_destination(w):
    review_rules(w.campaign, countries=["US"])
    order = build_order(response=make_response(w, choices=_chosen(w), completed=True))
    assert _open(order) == {HoldReason.MANUAL_REVIEW: "Destination US always reviewed"}


def test_manual_review_clears_when_the_destination_leaves_the_list(w):
    rules = review_rules(w.campaign, countries=["US"])
    response = make_response(w, choices=_chosen(w), completed=True)
    build_order(response=response)
    rules.countries = ["CA"]
    rules.save()
    assert _open(build_order(response=response)) == {}


def test_manual_review_opens_for_a_packstation_when_po_boxes_are_refused(w):
    review_rules(w.campaign, refuse_po_boxes=True)
    address = {
        **US_ADDRESS,
        "street_address": "Packstation 123\n12345678",
        "country_code": "DE",
        "postal_code": "10115",
        "city": "Berlin",
        "country_area": "",
    }
    order = build_order(response=make_response(w, choices=_chosen(w), address=address))
    assert _open(order) == {HoldReason.MANUAL_REVIEW: "PO box or parcel locker address"}


def test_a_po_box_is_let_through_when_the_carrier_takes_them(w):
    address = {**US_ADDRESS, "street_address": "PO Box 42"}
    order = build_order(response=make_response(w, choices=_chosen(w), address=address))
    assert _open(order) == {}


def test_manual_review_clears_when_the_address_leaves_the_po_box(w):
    review_rules(w.campaign, refuse_po_boxes=True)
    response = make_response(
        w, choices=_chosen(w), address={**US_ADDRESS, "street_address": "P.O. Box 42"}
    )
    build_order(response=response)
    response.address = US_ADDRESS
    response.save()
    assert _open(build_order(response=response)) == {}


def test_a_review_cleared_by_staff_stays_cleared_while_its_cause_is_the_same(w):
    review_rules(w.campaign, countries=["US"])
    response = make_response(w, choices=_chosen(w), completed=True)
    order = checked(build_order(response=response))
    clear_hold(hold=order.holds.get(), actor=UserFactory(), note="Checked by phone")
    order = build_order(response=response)
    assert _open(order) == {}
    assert order.state == OrderState.READY


@pytest.mark.parametrize(
    "street",
    [
        "PO Box 12",
        "P.O. Box 12",
        "Post Office Box 9",
        "Postfach 10 02 03",
        "Packstation 105",
        "Box 1234",
        "BP 45",
        "Boîte postale 12",
        "Apartado de correos 33",
        "Caixa Postal 100",
        "Casella postale 7",
        "Postbus 1234",
        "Skrytka pocztowa 15",
        "GPO Box 1",
        "私書箱 25",
    ],
)
def test_po_boxes_are_recognised_in_many_languages(street):
    assert looks_like_po_box(street)


@pytest.mark.parametrize(
    "street",
    [
        "Boxhagener Str. 12",
        "12 Postal Lane",
        "Bpost plaza 4",
        "1 Apple Park Way",
        "Rue de la Boîte 3",
    ],
)
def test_ordinary_streets_are_not_po_boxes(street):
    assert not looks_like_po_box(street)
