"""Re-pricing a campaign's open orders after a rate or tax change: totals follow the
new tables, locked orders never change, each changed order gets a "priced" event,
and the bulk result agrees with the single-order tax quote."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from djmoney.money import Money

from orders import tax
from orders.models import EventKind, OrderEvent, TaxRate
from orders.services.repricing import (
    PricedLine,
    RewardPart,
    charged_total,
    order_tax_lines,
    reprice_orders,
)
from orders.services.taxes import tax_quote
from shipping.models import ShippingMethod, ShippingProfile, ShippingZone, WeightBand

from .conftest_invoices import make_order, tax_campaign

D = Decimal
TODAY = date(2026, 12, 1)


@pytest.fixture
def eur_campaign(organization):
    return tax_campaign(organization)


def raise_german_vat(campaign, rate="21.00"):
    """A new German rate from 2026-07-01 (the old one stays in the table, dated earlier)."""
    TaxRate.objects.create(
        campaign=campaign, country="DE", rate=D(rate), valid_from=date(2026, 7, 1)
    )


def ship_by_weight(campaign, *fees):
    """Weight bands for Europe: up to 2 kg, up to 5 kg."""
    ShippingProfile.objects.create(campaign=campaign, method=ShippingMethod.WEIGHT_BANDS)
    zone = ShippingZone.objects.create(campaign=campaign, name="Europe", countries=["DE", "FR"])
    for up_to_g, fee in zip((2000, 5000), fees, strict=True):
        WeightBand.objects.create(zone=zone, up_to_g=up_to_g, fee=D(fee))
    return zone


def single_quote(order):
    """What tax_quote says for one order, line by line (the reference)."""
    lines = [
        PricedLine(line.description, line.quantity, line.unit_price.amount, line.line_total.amount)
        for line in order.lines.all()
        if line.line_total.amount > 0
    ]
    reward = RewardPart(order.reward.title, order.reward.minimum.amount) if order.reward else None
    return tax_quote(
        campaign=order.campaign,
        destination=tax.Destination(order.country),
        lines=order_tax_lines(
            priced_lines=lines,
            goods_total=order.goods_total.amount,
            shipping_fee=order.shipping_fee.amount,
            reward=reward,
        ),
        on=TODAY,
        vat_number=order.vat_number,
    )


# --- totals follow the tables ------------------------------------------------------------


def test_a_new_tax_rate_changes_tax_and_totals(eur_campaign):
    order = make_order(eur_campaign, paid=False)  # 30.00 goods + 10.00 shipping at 19 %
    raise_german_vat(eur_campaign)

    result = reprice_orders(campaign=eur_campaign, on=TODAY)

    order.refresh_from_db()
    assert result.changed == 1
    assert order.tax_total == Money(D("8.40"), "EUR")
    assert order.total == Money(D("48.40"), "EUR")
    assert order.balance_due == Money(D("48.40"), "EUR")


def test_a_paid_order_owes_the_difference(eur_campaign):
    order = make_order(eur_campaign)  # paid 47.60
    raise_german_vat(eur_campaign)

    reprice_orders(campaign=eur_campaign, on=TODAY)

    order.refresh_from_db()
    assert order.balance_due == Money(D("0.80"), "EUR")


def test_a_changed_weight_band_changes_the_shipping_fee(eur_campaign):
    order = make_order(eur_campaign, paid=False)  # two 450 g playmats
    zone = ship_by_weight(eur_campaign, "8.00", "14.00")
    reprice_orders(campaign=eur_campaign, on=TODAY)
    WeightBand.objects.filter(zone=zone, up_to_g=2000).update(fee=D("9.00"))

    reprice_orders(campaign=eur_campaign, on=TODAY)

    order.refresh_from_db()
    assert order.shipping_fee == Money(D("9.00"), "EUR")
    assert order.total == Money(D("46.41"), "EUR")  # (30 + 9) × 1.19


def test_the_tax_treatment_is_recorded(eur_campaign):
    order = make_order(eur_campaign, country="FR")
    order.tax_regime = ""
    order.customs_number = ""
    order.save()

    reprice_orders(campaign=eur_campaign, on=TODAY)

    order.refresh_from_db()
    assert (order.tax_regime, order.customs_number) == ("eu_ioss", "IM2760000001")
    assert order.tax_collected_at_checkout


# --- what is never touched ---------------------------------------------------------------


def test_locked_orders_keep_their_price(eur_campaign):
    order = make_order(eur_campaign, state="locked", locked_at=timezone.now())
    before = (order.tax_total, order.total)
    raise_german_vat(eur_campaign)

    result = reprice_orders(campaign=eur_campaign, on=TODAY)

    order.refresh_from_db()
    assert (order.tax_total, order.total) == before
    assert (result.orders, result.locked_skipped) == (0, 1)
    assert not OrderEvent.objects.filter(order=order, kind=EventKind.PRICED).exists()


def test_released_orders_keep_their_price(eur_campaign):
    order = make_order(eur_campaign, state="released")
    before = order.total
    raise_german_vat(eur_campaign)

    reprice_orders(campaign=eur_campaign, on=TODAY)

    order.refresh_from_db()
    assert order.total == before


def test_an_unchanged_order_is_not_written(eur_campaign):
    order = make_order(eur_campaign)

    result = reprice_orders(campaign=eur_campaign, on=TODAY)

    assert (result.changed, result.unchanged) == (0, 1)
    assert not OrderEvent.objects.filter(order=order, kind=EventKind.PRICED).exists()


def test_a_second_run_changes_nothing(eur_campaign):
    make_order(eur_campaign)
    raise_german_vat(eur_campaign)
    reprice_orders(campaign=eur_campaign, on=TODAY)

    again = reprice_orders(campaign=eur_campaign, on=TODAY)

    assert (again.changed, again.unchanged) == (0, 1)


def test_an_order_the_engine_refuses_keeps_its_price_and_is_counted(eur_campaign):
    order = make_order(eur_campaign, country="JP")  # Japan is in no zone
    ship_by_weight(eur_campaign, "8.00", "14.00")
    before = order.total

    result = reprice_orders(campaign=eur_campaign, on=TODAY)

    order.refresh_from_db()
    assert order.total == before
    assert result.failed_count == 1
    assert "ships_nowhere" in next(iter(result.failed))


def test_a_dry_run_writes_nothing(eur_campaign):
    order = make_order(eur_campaign)
    before = order.total
    raise_german_vat(eur_campaign)

    result = reprice_orders(campaign=eur_campaign, on=TODAY, dry_run=True)

    order.refresh_from_db()
    assert result.changed == 1
    assert order.total == before
    assert not OrderEvent.objects.filter(kind=EventKind.PRICED).exists()


def test_other_campaigns_are_not_touched(eur_campaign, organization):
    other = tax_campaign(organization)
    theirs = make_order(other)
    before = theirs.total
    raise_german_vat(other)

    reprice_orders(campaign=eur_campaign, on=TODAY)

    theirs.refresh_from_db()
    assert theirs.total == before


# --- events ------------------------------------------------------------------------------


def test_each_changed_order_gets_a_priced_event_with_before_and_after(eur_campaign):
    order = make_order(eur_campaign, paid=False)
    raise_german_vat(eur_campaign)

    reprice_orders(campaign=eur_campaign, on=TODAY)

    event = OrderEvent.objects.get(order=order, kind=EventKind.PRICED)
    assert event.before == {
        "shipping_fee": "10.00",
        "tax_total": "7.60",
        "total": "47.60",
        "balance_due": "47.60",
    }
    assert event.after == {
        "shipping_fee": "10.00",
        "tax_total": "8.40",
        "total": "48.40",
        "balance_due": "48.40",
    }
    assert event.actor_label == "system"


# --- the bulk run agrees with one order at a time ----------------------------------------


def test_bulk_figures_agree_with_the_single_order_tax_quote(eur_campaign):
    orders = [
        make_order(eur_campaign, country="DE"),
        make_order(eur_campaign, country="FR", addons=(("Dice", 3, "4.99"),)),
        make_order(eur_campaign, country="SE", with_reward=True),
        make_order(eur_campaign, country="US", shipping="25.00"),
        make_order(eur_campaign, country="DE", vat_number="DE136695976"),
    ]
    raise_german_vat(eur_campaign)
    TaxRate.objects.filter(campaign=eur_campaign, country="SE").update(rate=D("24.00"))

    reprice_orders(campaign=eur_campaign, on=TODAY, batch_size=2)

    for order in orders:
        order.refresh_from_db()
        quote = single_quote(order)
        assert order.tax_total.amount == quote.tax_total
        assert order.total.amount == charged_total(quote, prices_include_tax=False)
        assert order.reverse_charge == quote.reverse_charge


# --- the command -------------------------------------------------------------------------


def test_command_reports_the_changed_orders(eur_campaign, capsys):
    make_order(eur_campaign)
    raise_german_vat(eur_campaign)

    call_command("reprice_orders", eur_campaign.slug, verbosity=0)

    assert "1 changed" in capsys.readouterr().out


def test_command_dry_run_says_what_would_change(eur_campaign, capsys):
    make_order(eur_campaign)
    raise_german_vat(eur_campaign)

    call_command("reprice_orders", eur_campaign.slug, "--dry-run", verbosity=0)

    assert "1 would change" in capsys.readouterr().out


def test_command_fails_when_orders_cannot_be_priced(eur_campaign):
    make_order(eur_campaign, country="JP")
    ship_by_weight(eur_campaign, "8.00", "14.00")

    with pytest.raises(CommandError, match="1 orders could not be priced"):
        call_command("reprice_orders", eur_campaign.slug, verbosity=0)


def test_command_refuses_an_unknown_campaign(db):
    with pytest.raises(CommandError, match="No campaign"):
        call_command("reprice_orders", "nope", verbosity=0)


def test_an_invoiced_order_keeps_the_price_it_was_paid_at(eur_campaign):
    from orders.services.invoices import issue_invoice

    order = make_order(eur_campaign)  # paid 47.60
    issue_invoice(order=order)
    raise_german_vat(eur_campaign)
    result = reprice_orders(campaign=eur_campaign, on=TODAY)
    order.refresh_from_db()
    assert (result.orders, result.changed, result.invoiced_skipped) == (0, 0, 1)
    assert (order.total, order.balance_due) == (Money(D("47.60"), "EUR"), Money(D("0"), "EUR"))


def test_money_refunded_is_not_asked_for_again(eur_campaign):
    order = make_order(eur_campaign)  # paid 47.60
    order.paid_total = Money(D("42.60"), "EUR")
    order.refunded_total = Money(D("5.00"), "EUR")
    order.save()
    raise_german_vat(eur_campaign)
    reprice_orders(campaign=eur_campaign, on=TODAY)
    order.refresh_from_db()
    assert order.balance_due == Money(D("0.80"), "EUR")  # the new tax only


def test_an_order_without_an_address_yet_is_left_as_it_is(eur_campaign):
    order = make_order(eur_campaign, country="")
    before = (order.total, order.tax_total)
    raise_german_vat(eur_campaign)
    result = reprice_orders(campaign=eur_campaign, on=TODAY)
    order.refresh_from_db()
    assert (result.no_address, result.failed_count, result.changed) == (1, 0, 0)
    assert (order.total, order.tax_total) == before


def test_command_succeeds_with_orders_that_have_no_address_yet(eur_campaign, capsys):
    make_order(eur_campaign, country="")
    call_command("reprice_orders", eur_campaign.slug, verbosity=0)
    assert "1 without an address yet" in capsys.readouterr().out


def test_a_draft_is_left_to_its_survey(eur_campaign):
    """No survey figures yet: the survey quotes the rates in force when it is confirmed."""
    order = make_order(eur_campaign, paid=False, state="draft")
    before = order.total
    raise_german_vat(eur_campaign)
    result = reprice_orders(campaign=eur_campaign, on=TODAY)
    order.refresh_from_db()
    assert (result.orders, result.changed, order.total) == (0, 0, before)
