"""The demo campaign's shipping: zones, bands, a rate card, and nothing more the second time."""

from decimal import Decimal

from shipping.demo import seed_shipping_demo
from shipping.margins import margin_report
from shipping.models import RateCard, RateCardRow, ShippingMethod, ShippingZone, WeightBand
from shipping.selectors import shipping_is_configured
from shipping.services.quotes import zone_for


def test_demo_sets_up_six_zones_bands_and_a_rate_card(shop):
    result = seed_shipping_demo(shop.campaign)
    names = list(ShippingZone.objects.filter(campaign=shop.campaign).values_list("name", flat=True))
    assert names == [
        "United States",
        "Canada",
        "EU",
        "United Kingdom",
        "Australia",
        "Rest of world",
    ]
    assert result.created_zones == 6 and result.rate_card_created
    assert WeightBand.objects.filter(zone__campaign=shop.campaign).count() == 30
    assert RateCardRow.objects.filter(card=result.rate_card).count() == 30
    assert shop.campaign.shipping_profile.method == ShippingMethod.WEIGHT_BANDS
    assert shipping_is_configured(campaign=shop.campaign)


def test_demo_zones_cover_the_eu_and_the_rest_of_the_world(shop):
    seed_shipping_demo(shop.campaign)
    assert zone_for(campaign=shop.campaign, country="PT").name == "EU"
    assert zone_for(campaign=shop.campaign, country="JP").name == "Rest of world"


def test_demo_run_twice_changes_nothing(shop):
    seed_shipping_demo(shop.campaign)
    again = seed_shipping_demo(shop.campaign)
    assert (again.created_zones, again.rate_card_created) == (0, False)
    assert ShippingZone.objects.filter(campaign=shop.campaign).count() == 6
    assert RateCard.objects.filter(campaign=shop.campaign).count() == 1


def test_demo_rate_card_makes_some_zones_lose_money(shop):
    from djmoney.money import Money

    from tests.factories import BackerFactory, PledgeFactory

    result = seed_shipping_demo(shop.campaign)
    for country in ("US", "AU"):
        PledgeFactory(
            backer=BackerFactory(campaign=shop.campaign),
            reward=shop.core,
            shipping_country=country,
            shipping_paid=Money(Decimal("0"), "USD"),
        )
    report = margin_report(campaign=shop.campaign, card=result.rate_card)
    assert [row.zone.name for row in report.losing_zones] == ["Australia"]
