"""A completed survey becomes an order once the confirmation commits, and a later
address change updates it; test responses never become orders."""

import pytest
from django.utils import timezone

from orders.models import Order, OrderState
from surveys.services.responses import (
    complete_survey,
    save_address,
)
from tests.surveys.backer_setup import (
    GERMAN_ADDRESS,
    all_steps_done,
    build_world,
    ready_to_confirm,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def test_confirming_the_survey_builds_the_order(w, django_capture_on_commit_callbacks):
    response = ready_to_confirm(w, w.bob)
    with django_capture_on_commit_callbacks(execute=True):
        complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    order = Order.objects.get(backer=w.bob.backer)
    assert order.response == response and order.state in (OrderState.SUBMITTED, OrderState.READY)
    assert order.lines.filter(sku=w.box).exists()


def test_an_address_change_after_confirming_updates_the_order(
    w, django_capture_on_commit_callbacks
):
    response = ready_to_confirm(w, w.bob)
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
    response = ready_to_confirm(w, w.bob)
    response.is_test = True
    response.completed_at = timezone.now()
    response.save()
    with django_capture_on_commit_callbacks(execute=True):
        save_address(response=response, survey=w.survey, address=GERMAN_ADDRESS)
    assert not Order.objects.exists()


def _completed_with_money(w, invite, *, addons="15.00", shipping="12.00", tax="4.31"):
    from djmoney.money import Money

    response = ready_to_confirm(w, invite)
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
    response = ready_to_confirm(w, w.alice)
    update_cart(response=response, survey=w.survey, quantities={w.mat.pk: 1})
    all_steps_done(w, response)
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


def _confirmed_with_tax(w, invite, quantities, django_capture_on_commit_callbacks, *, build=True):
    """`invite`'s survey confirmed under the campaign's tables (see `taxed`)."""
    from surveys.services.responses import update_cart

    response = ready_to_confirm(w, invite)
    update_cart(response=response, survey=w.survey, quantities=quantities)
    all_steps_done(w, response)
    with django_capture_on_commit_callbacks(execute=build):
        quote = complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    return response, quote


@pytest.fixture
def taxed(w):
    """Shipping fees and the seeded VAT tables, tax added to the prices, IOSS number set."""
    from tests.surveys.test_review_pricing import _ship, _tax

    _ship(w)
    _tax(w, prices_include_tax=False, tax_on_pledged_rewards=True)
    return w


TREATMENT = (
    "tax_regime",
    "tax_collected_at_checkout",
    "import_tax_at_delivery",
    "ddp",
    "reverse_charge",
    "customs_number",
)


def _treatment(record) -> tuple:
    return tuple(getattr(record, name) for name in TREATMENT)


def test_an_order_under_the_ioss_limit_carries_its_regime_and_number_from_the_survey(
    taxed, w, settings, django_capture_on_commit_callbacks
):
    """Straight after the survey, before any re-pricing: the invoice names the IOSS
    number and the export's tax regime is filled."""
    from orders.demo import _pay
    from orders.models import Invoice

    settings.PLEDGEPORT_TEST_GATEWAY = True
    response, quote = _confirmed_with_tax(
        w, w.bob, {w.mat.pk: 1}, django_capture_on_commit_callbacks
    )
    order = Order.objects.get(backer=w.bob.backer)
    assert quote.tax_collected and quote.tax_regime == "eu_ioss"
    assert _treatment(order) == ("eu_ioss", True, False, False, False, "IM2760000001")
    assert _treatment(order) == _treatment(response)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(order)
    invoice = Invoice.objects.get(order=order)
    assert "VAT collected under IOSS, IOSS number IM2760000001" in invoice.snapshot["notes"]


def test_an_order_over_the_ioss_limit_is_marked_for_import_tax_at_delivery(
    taxed, w, django_capture_on_commit_callbacks
):
    _confirmed_with_tax(w, w.alice, {w.mat.pk: 3, w.coin.pk: 3}, django_capture_on_commit_callbacks)
    order = Order.objects.get(backer=w.alice.backer)
    assert order.import_tax_at_delivery and not order.tax_collected_at_checkout
    assert (order.tax_regime, order.customs_number) == ("eu_import_vat", "")


def test_the_bulk_build_carries_the_same_treatment_as_the_one_order_build(
    taxed, w, django_capture_on_commit_callbacks
):
    from orders.services.bulk_building import build_orders

    bob, _ = _confirmed_with_tax(
        w, w.bob, {w.mat.pk: 1}, django_capture_on_commit_callbacks, build=False
    )
    alice, _ = _confirmed_with_tax(
        w, w.alice, {w.mat.pk: 3, w.coin.pk: 3}, django_capture_on_commit_callbacks, build=False
    )
    assert not Order.objects.exists()
    build_orders(campaign=w.campaign)
    for response in (bob, alice):
        assert _treatment(Order.objects.get(response=response)) == _treatment(response)
    assert Order.objects.get(response=bob).customs_number == "IM2760000001"


def test_a_rebuild_after_the_treatment_changes_updates_the_order(
    taxed, w, django_capture_on_commit_callbacks
):
    """The treatment is part of what a bulk rebuild compares: a response confirmed
    again under other figures rewrites it."""
    from orders.services.bulk_building import build_orders

    response, _ = _confirmed_with_tax(
        w, w.bob, {w.mat.pk: 1}, django_capture_on_commit_callbacks, build=False
    )
    build_orders(campaign=w.campaign)
    response.tax_regime, response.customs_number = "eu_import_vat", ""
    response.tax_collected_at_checkout, response.import_tax_at_delivery = False, True
    response.save()
    result = build_orders(campaign=w.campaign)
    assert result.updated == 1
    order = Order.objects.get(response=response)
    assert _treatment(order) == ("eu_import_vat", False, True, False, False, "")


def test_re_pricing_orders_fresh_from_the_survey_finds_nothing_to_change(
    taxed, w, django_capture_on_commit_callbacks
):
    from orders.services.repricing import reprice_orders

    _confirmed_with_tax(w, w.bob, {w.mat.pk: 1}, django_capture_on_commit_callbacks)
    _confirmed_with_tax(w, w.alice, {w.mat.pk: 3, w.coin.pk: 3}, django_capture_on_commit_callbacks)
    result = reprice_orders(campaign=w.campaign, dry_run=True)
    assert (result.orders, result.changed, result.unchanged) == (2, 0, 2)


def test_a_reward_swapped_by_a_regional_rule_still_ships_goods(
    taxed, w, django_capture_on_commit_callbacks
):
    """The German edition replaces the box (a `regional` line) and a digital rulebook
    comes with it: the reward still ships goods, for the survey, the order and a
    re-pricing alike (IOSS, not VAT as if nothing were shipped)."""
    from orders.services.repricing import reprice_orders
    from pledges.models import RegionalRule
    from tests.factories import RewardItemFactory, SkuFactory

    org = w.campaign.organization
    RewardItemFactory(
        reward=w.reward, sku=SkuFactory(organization=org, code="PDF", is_digital=True)
    )
    RegionalRule.objects.create(
        campaign=w.campaign,
        name="German edition",
        countries=["DE"],
        from_sku=w.box,
        to_sku=SkuFactory(organization=org, code="BOX-DE"),
    )
    response, quote = _confirmed_with_tax(w, w.bob, {}, django_capture_on_commit_callbacks)
    order = Order.objects.get(backer=w.bob.backer)
    assert order.lines.filter(sku__code="BOX-DE", source="regional").exists()
    assert quote.tax_regime == order.tax_regime == "eu_ioss"
    result = reprice_orders(campaign=w.campaign, dry_run=True)
    assert (result.changed, result.unchanged) == (0, 1)


def test_a_reward_of_digital_skus_only_is_taxed_as_digital_everywhere(
    taxed, w, django_capture_on_commit_callbacks
):
    """Nothing ships, so no customs regime: the destination's VAT at checkout."""
    from djmoney.money import Money

    from orders.services.repricing import reprice_orders
    from tests.factories import RewardFactory, RewardItemFactory, SkuFactory
    from tests.surveys.backer_setup import new_invite

    digital = RewardFactory(campaign=w.campaign, title="Print and play", minimum=Money("20", "USD"))
    RewardItemFactory(
        reward=digital,
        sku=SkuFactory(organization=w.campaign.organization, code="PNP", is_digital=True),
    )
    from shipping.models import ShippingZone
    from shipping.services.fees import save_reward_fees

    save_reward_fees(  # nothing to ship: the creator charges nothing anywhere
        campaign=w.campaign,
        fees={
            (digital.pk, zone.pk): "0" for zone in ShippingZone.objects.filter(campaign=w.campaign)
        },
    )
    invite = new_invite(w, email="carol@example.net", amount="20.00", reward=digital)
    response, quote = _confirmed_with_tax(w, invite, {}, django_capture_on_commit_callbacks)
    order = Order.objects.get(backer=invite.backer)
    assert quote.tax_regime == order.tax_regime == "domestic"
    assert not order.import_tax_at_delivery and order.customs_number == ""
    result = reprice_orders(campaign=w.campaign, dry_run=True)
    assert (result.changed, result.unchanged) == (0, 1)


def test_after_a_refund_neither_a_rebuild_nor_a_re_pricing_asks_for_the_money_again(
    taxed, w, settings, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    from orders.demo import _pay
    from orders.services import payments
    from orders.services.building import build_order
    from orders.services.repricing import reprice_orders

    settings.PLEDGEPORT_TEST_GATEWAY = True
    response, _ = _confirmed_with_tax(w, w.bob, {w.mat.pk: 1}, django_capture_on_commit_callbacks)
    order = Order.objects.get(backer=w.bob.backer)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(order)
        payments.refund_payment(
            payment=order.payments.get(kind="charge"), amount="5.00", actor="staff", reason="x"
        )
    order = build_order(response=response)
    assert order.refunded_total.amount == Decimal("5.00")
    assert order.balance_due.amount == Decimal("0.00")
    assert not order.holds.filter(reason="payment_due", cleared_at__isnull=True).exists()
    result = reprice_orders(campaign=w.campaign, dry_run=True)
    assert (result.changed, result.invoiced_skipped) == (0, 1)  # paid and invoiced


def test_an_add_on_after_paying_leaves_the_rest_due_with_a_hold(
    w, client, settings, django_capture_on_commit_callbacks
):
    from orders.demo import _pay
    from orders.models import HoldReason
    from surveys.links import magic_link

    settings.PLEDGEPORT_TEST_GATEWAY = True
    response, _quote = _confirmed_with_tax(
        w, w.bob, {w.mat.pk: 1}, django_capture_on_commit_callbacks
    )
    order = Order.objects.get(backer=w.bob.backer)
    with django_capture_on_commit_callbacks(execute=True):
        _pay(order)
    response.refresh_from_db()
    assert response.paid_at is not None
    paid = order.__class__.objects.get(pk=order.pk).paid_total.amount

    response, quote = _confirmed_with_tax(
        w, w.bob, {w.mat.pk: 2}, django_capture_on_commit_callbacks
    )
    assert response.paid_at is None
    order.refresh_from_db()
    left = quote.balance_due - paid
    assert left == w.mat.price.amount
    assert order.balance_due.amount == left
    assert order.holds.get(cleared_at__isnull=True).reason == HoldReason.PAYMENT_DUE
    page = client.get(magic_link(w.bob), follow=True)
    page = client.get(f"/s/{w.campaign.slug}/done/")
    text = page.content.decode()
    assert "Left to pay" in text and "Pay now" in text


US_ADDRESS_FOR_SURVEY = {
    "name": "Bob Example",
    "company_name": "",
    "street_address": "1600 Amphitheatre Pkwy",
    "city": "MOUNTAIN VIEW",
    "country_area": "CA",
    "postal_code": "94043",
    "country_code": "US",
    "phone": "",
}


def test_a_new_address_with_other_shipping_sends_the_survey_back_to_review(
    w, django_capture_on_commit_callbacks
):
    from tests.surveys.test_review_pricing import _ship

    _ship(w)
    response = ready_to_confirm(w, w.bob)
    with django_capture_on_commit_callbacks(execute=True):
        complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    order = Order.objects.get(backer=w.bob.backer)
    assert order.state != OrderState.DRAFT
    with django_capture_on_commit_callbacks(execute=True):
        save_address(response=response, survey=w.survey, address=US_ADDRESS_FOR_SURVEY)
    response.refresh_from_db()
    order.refresh_from_db()
    assert response.completed_at is None  # the backer confirms the new shipping fee
    assert order.state == OrderState.DRAFT  # and nothing ships meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        quote = complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    order.refresh_from_db()
    assert order.shipping_fee.amount == quote.shipping_fee and order.state != OrderState.DRAFT


def test_a_new_address_that_changes_no_money_keeps_the_survey_complete(
    w, django_capture_on_commit_callbacks
):
    response = ready_to_confirm(w, w.bob)
    with django_capture_on_commit_callbacks(execute=True):
        complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    with django_capture_on_commit_callbacks(execute=True):
        save_address(
            response=response,
            survey=w.survey,
            address={**GERMAN_ADDRESS, "street_address": "Chausseestraße 1"},
        )
    response.refresh_from_db()
    assert response.completed_at is not None


def test_a_changed_cart_after_completion_takes_the_order_back_to_draft(
    w, django_capture_on_commit_callbacks
):
    from surveys.services.responses import update_cart

    response = ready_to_confirm(w, w.bob)
    with django_capture_on_commit_callbacks(execute=True):
        complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    with django_capture_on_commit_callbacks(execute=True):
        update_cart(response=response, survey=w.survey, quantities={w.mat.pk: 1})
    order = Order.objects.get(backer=w.bob.backer)
    assert order.state == OrderState.DRAFT
