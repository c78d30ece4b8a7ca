"""A completed survey becomes an order once the confirmation commits, and a later
address change updates it; test responses never become orders."""

import pytest
from django.utils import timezone

from inventory import bom
from orders.models import Order, OrderState
from surveys.services.responses import (
    complete_survey,
    open_invite,
    pledge_of,
    save_address,
    steps_for,
)
from tests.surveys.backer_setup import GERMAN_ADDRESS, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def _ready_to_confirm(w, invite):
    response = open_invite(invite=invite)
    save_address(response=response, survey=w.survey, address=GERMAN_ADDRESS)
    response.choices = {str(w.group.pk): [w.opt_red.pk]}
    response.answers = {str(w.question.pk): "Bob"}
    response.steps_done = list(
        steps_for(
            response=response,
            survey=w.survey,
            pledge=pledge_of(response),
            catalog=bom.load_catalog(campaign=w.campaign),
        )
    )
    response.save()
    return response


def test_confirming_the_survey_builds_the_order(w, django_capture_on_commit_callbacks):
    response = _ready_to_confirm(w, w.bob)
    with django_capture_on_commit_callbacks(execute=True):
        complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    order = Order.objects.get(backer=w.bob.backer)
    assert order.response == response and order.state in (OrderState.SUBMITTED, OrderState.READY)
    assert order.lines.filter(sku=w.box).exists()


def test_an_address_change_after_confirming_updates_the_order(
    w, django_capture_on_commit_callbacks
):
    response = _ready_to_confirm(w, w.bob)
    with django_capture_on_commit_callbacks(execute=True):
        complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    with django_capture_on_commit_callbacks(execute=True):
        save_address(
            response=response,
            survey=w.survey,
            address={**GERMAN_ADDRESS, "street_address": "Chausseestraße 1"},
        )
    order = Order.objects.get(backer=w.bob.backer)
    assert order.address.street_address == "Chausseestraße 1"
    assert order.addresses.count() == 2


def test_a_test_response_makes_no_order(w, django_capture_on_commit_callbacks):
    response = _ready_to_confirm(w, w.bob)
    response.is_test = True
    response.completed_at = timezone.now()
    response.save()
    with django_capture_on_commit_callbacks(execute=True):
        save_address(response=response, survey=w.survey, address=GERMAN_ADDRESS)
    assert not Order.objects.exists()


def _completed_with_money(w, invite, *, addons="15.00", shipping="12.00", tax="4.31"):
    from djmoney.money import Money

    response = _ready_to_confirm(w, invite)
    response.completed_at = timezone.now()
    response.addons_total = Money(addons, "USD")
    response.shipping_total = Money(shipping, "USD")
    response.tax_total = Money(tax, "USD")
    response.save()
    return response


def test_tax_inside_the_prices_is_not_added_to_the_total(w):
    from decimal import Decimal

    from orders.models import TaxSettings
    from orders.services.building import build_order

    TaxSettings.objects.create(campaign=w.campaign, prices_include_tax=True)
    order = build_order(response=_completed_with_money(w, w.bob))
    assert order.prices_include_tax
    assert (order.total.amount, order.tax_total.amount) == (Decimal("27.00"), Decimal("4.31"))


def test_tax_outside_the_prices_is_added_to_the_total(w):
    from decimal import Decimal

    from orders.services.building import build_order

    order = build_order(response=_completed_with_money(w, w.bob))
    assert order.total.amount == Decimal("31.31")
    assert order.holds.filter(reason="payment_due", cleared_at__isnull=True).exists()


def test_charge_at_lock_leaves_the_balance_to_the_lock_not_a_hold(w):
    from orders.models import PaymentSettings
    from orders.services.building import build_order

    PaymentSettings.objects.create(campaign=w.campaign, charge_at_lock=True)
    order = build_order(response=_completed_with_money(w, w.bob))
    assert order.balance_due.amount > 0
    assert not order.holds.filter(reason="payment_due").exists()


def test_the_invoice_of_a_paid_survey_breaks_down_the_tax_it_charged(
    w, settings, django_capture_on_commit_callbacks
):
    from orders.demo import _pay
    from orders.models import Invoice
    from surveys.services.responses import update_cart
    from tests.surveys.test_review_pricing import _ship, _tax

    settings.PLEDGEPORT_TEST_GATEWAY = True
    _ship(w)
    _tax(w, prices_include_tax=False, tax_on_pledged_rewards=True)
    # Alice paid 10.00 shipping on the platform: credited, and not taxed again here.
    response = _ready_to_confirm(w, w.alice)
    update_cart(response=response, survey=w.survey, quantities={w.mat.pk: 1})
    response.steps_done = list(
        steps_for(
            response=response,
            survey=w.survey,
            pledge=pledge_of(response),
            catalog=bom.load_catalog(campaign=w.campaign),
        )
    )
    response.save()
    with django_capture_on_commit_callbacks(execute=True):
        quote = complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    order = Order.objects.get(backer=w.alice.backer)
    assert order.tax_total.amount == quote.tax_added
    with django_capture_on_commit_callbacks(execute=True):
        _pay(order)
    invoice = Invoice.objects.get(order=order)
    snapshot = invoice.snapshot
    assert [row["rate"] for row in snapshot["breakdown"]] == ["19"]
    assert snapshot["tax_total"] == str(quote.tax_added)
    assert any(line["paid_on_platform"] for line in snapshot["lines"])
    assert invoice.total == order.total
