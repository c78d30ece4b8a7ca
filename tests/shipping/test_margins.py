"""The margin check on a small campaign: shipping collected against the
carrier's prices, per zone, and its page."""

from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from pledges.models import PaymentStatus
from shipping.margins import margin_report
from shipping.models import ShippingMethod
from shipping.services import fees
from shipping.services.rate_cards import upload_rate_card
from surveys.models import ImportedAddOn
from tests.factories import BackerFactory, PledgeFactory

from .conftest import use_method

CARD = (
    b"zone_or_country,up_to_g,cost\n"
    b"Europe,3000,15.00\n"
    b"Europe,6000,22.00\n"
    b"United States,3000,20.00\n"
    b"FR,3000,25.00\n"  # France's own price beats its zone's
)


def pledge(shop, reward, country, paid="0", **extra):
    return PledgeFactory(
        backer=BackerFactory(campaign=shop.campaign),
        reward=reward,
        shipping_country=country,
        shipping_paid=Money(Decimal(paid), "USD"),
        **extra,
    )


@pytest.fixture
def pledged(zoned):
    """Weight bands (real weight): a Core box (2,000 g) and a Deluxe (2,600 g) both cost 18.00."""
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    pledge(zoned, zoned.core, "DE", "10")
    pledge(zoned, zoned.core, "DE", "10")
    pledge(zoned, zoned.deluxe, "FR", "20")
    pledge(zoned, zoned.core, "US", "5")
    pledge(zoned, zoned.core, "US", "0", shipping_region="AK")
    pledge(zoned, zoned.core, "GB", "0", shipping_postal_code="HS1 2AA")
    pledge(zoned, zoned.core, "JP", "0")
    pledge(zoned, zoned.core, "RU", "0")
    pledge(zoned, zoned.core, "", "0")
    pledge(zoned, zoned.core, "DE", "0", payment_status=PaymentStatus.DROPPED)
    card = upload_rate_card(campaign=zoned.campaign, data=CARD, original_name="carrier.csv")
    return zoned, card


def row(report, zone):
    return next(r for r in report.rows if r.zone == zone)


def test_collected_is_platform_shipping_plus_what_the_survey_charges(pledged):
    shop, card = pledged
    europe = row(margin_report(campaign=shop.campaign, card=card), shop.europe)
    # DE: 18 fee, 10 credited → 8 due, twice; FR: 18 fee, 20 paid → 18 credited, 0 due.
    assert (europe.orders, europe.compared) == (3, 3)
    assert (europe.platform_paid, europe.charged, europe.collected) == (
        Decimal("40.00"),
        Decimal("16.00"),
        Decimal("56.00"),
    )


def test_carrier_cost_uses_the_countrys_own_price_before_its_zones(pledged):
    shop, card = pledged
    europe = row(margin_report(campaign=shop.campaign, card=card), shop.europe)
    assert europe.carrier_cost == Decimal("55.00")  # 2 × 15.00 (DE) + 25.00 (FR)
    assert (europe.difference, europe.losing) == (Decimal("1.00"), False)


def test_zone_collecting_less_than_the_carrier_costs_is_flagged(pledged):
    shop, card = pledged
    report = margin_report(campaign=shop.campaign, card=card)
    us = row(report, shop.us)
    assert (us.collected, us.carrier_cost, us.difference) == (
        Decimal("18.00"),
        Decimal("20.00"),
        Decimal("-2.00"),
    )
    assert us.losing
    assert report.losing_zones == [us]


def test_orders_without_a_carrier_price_are_counted_apart(pledged):
    shop, card = pledged
    report = margin_report(campaign=shop.campaign, card=card)
    for zone in (shop.remote_us, shop.islands, shop.world):
        zone_row = row(report, zone)
        assert (zone_row.orders, zone_row.without_price, zone_row.compared) == (1, 1, 0)
        assert zone_row.collected == zone_row.carrier_cost == Decimal("0")
        assert not zone_row.losing


def test_orders_without_a_fee_are_counted_apart_with_the_reason(pledged):
    shop, card = pledged
    fees.save_weight_bands(zone=shop.us, bands=[])
    us = row(margin_report(campaign=shop.campaign, card=card), shop.us)
    assert (us.orders, us.without_fee, us.compared) == (1, 1, 0)
    assert us.fee_problems == ["Zone United States has no weight bands."]


def test_excluded_and_countryless_pledges_are_not_compared(pledged):
    shop, card = pledged
    report = margin_report(campaign=shop.campaign, card=card)
    assert report.not_shipped == [("Russia", 1)]
    assert report.no_country == 1
    assert report.pledges_counted == 9  # the dropped payment is not counted


def test_totals_add_up_the_zones(pledged):
    shop, card = pledged
    report = margin_report(campaign=shop.campaign, card=card)
    assert (report.compared, report.collected, report.carrier_cost) == (
        4,
        Decimal("74.00"),
        Decimal("75.00"),
    )


def test_add_ons_bought_on_the_platform_count(zoned):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    ImportedAddOn.objects.create(campaign=zoned.campaign, text="Playmat", offer=zoned.playmat)
    pledge(zoned, zoned.core, "DE", "0", addons_text="Playmat × 2")
    card = upload_rate_card(campaign=zoned.campaign, data=CARD, original_name="carrier.csv")
    europe = row(margin_report(campaign=zoned.campaign, card=card), zoned.europe)
    # fee 12.00 + 2 × 3.00; the parcel weighs 3,000 g → 15.00 at the carrier
    assert (europe.charged, europe.carrier_cost) == (Decimal("18.00"), Decimal("15.00"))


def test_without_a_rate_card_nothing_is_compared(pledged):
    shop, _card = pledged
    report = margin_report(campaign=shop.campaign, card=None)
    assert report.compared == 0
    assert row(report, shop.europe).without_price == 3


# --- page ----------------------------------------------------------------------------


def test_margin_page_flags_the_losing_zone(owner_client, pledged):
    shop, _card = pledged
    response = owner_client.get(reverse("shipping-margins", args=[shop.campaign.slug]))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<span class="badge danger">losing money</span>') == 1
    assert "-2.00" in page
    assert 'class="bar margin-collected" style="width: 100%"' in page  # Europe: 56.00, the top
    assert 'class="bar margin-cost" style="width: 98%"' in page  # Europe: 55.00


def test_margin_page_says_when_there_is_no_rate_card(owner_client, zoned):
    response = owner_client.get(reverse("shipping-margins", args=[zoned.campaign.slug]))
    assert "No rate card yet" in response.content.decode()


def test_margin_page_costs_the_same_queries_for_more_pledges(
    owner_client, pledged, django_assert_max_num_queries
):
    shop, _card = pledged
    url = reverse("shipping-margins", args=[shop.campaign.slug])
    for country in ["DE", "FR", "US", "JP", "IT"] * 4:
        pledge(shop, shop.deluxe, country, "7")
    with django_assert_max_num_queries(22):
        assert owner_client.get(url).status_code == 200


def test_grouped_figures_equal_one_quote_per_pledge(pledged):
    """Grouping pledges in SQL must not change a cent: the same as quoting pledge by pledge."""
    from inventory.bom import bom_for_pledge
    from pledges.models import Pledge
    from shipping.errors import ShippingError
    from shipping.services.quotes import quote_shipping

    shop, _card = pledged
    pledge(shop, shop.deluxe, "US", "3", shipping_region="Hawaii")
    pledge(shop, shop.core, "GB", "4", shipping_postal_code="ze1 0aa")
    pledge(shop, shop.core, "DE", "25")
    every_zone = "zone_or_country,up_to_g,cost\n" + "".join(
        f"{zone.name},10000,1.00\n"
        for zone in (shop.europe, shop.islands, shop.us, shop.remote_us, shop.world)
    )
    card = upload_rate_card(
        campaign=shop.campaign, data=every_zone.encode(), original_name="all.csv"
    )
    expected: dict[int, Decimal] = {}
    for each in Pledge.objects.filter(
        backer__campaign=shop.campaign, payment_status=PaymentStatus.COLLECTED
    ):
        try:
            result = quote_shipping(
                campaign=shop.campaign,
                country=str(each.shipping_country),
                region=each.shipping_region,
                postal_code=each.shipping_postal_code,
                reward_id=each.reward_id,
                lines=bom_for_pledge(pledge=each),
                addon_units={},
                platform_paid=each.shipping_paid.amount,
            )
        except ShippingError:
            continue  # excluded, or no country yet
        expected[result.zone.pk] = expected.get(result.zone.pk, Decimal("0")) + result.due
    report = margin_report(campaign=shop.campaign, card=card)
    assert {r.zone.pk: r.charged for r in report.rows if r.compared} == expected
