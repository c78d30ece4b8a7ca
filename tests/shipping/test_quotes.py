"""quote_shipping: each method, volumetric weight, add-on increments, the
platform credit and rounding."""

from decimal import Decimal

import pytest

from inventory.bom import BomLine
from shipping.errors import CartInvalid, FeeMissing, ShipsNowhere
from shipping.models import ShippingMethod
from shipping.selectors import shipping_is_configured
from shipping.services import fees
from shipping.services.quotes import quote_shipping
from tests.factories import RewardFactory, SkuFactory

from .conftest import use_method


def quote(shop, reward, country="DE", *, playmats=0, paid="0", lines=None, **destination):
    return quote_shipping(
        campaign=shop.campaign,
        country=country,
        reward_id=reward.pk if reward is not None else None,
        lines=lines if lines is not None else shop.lines(reward, playmats=playmats),
        addon_units={shop.playmat.pk: playmats} if playmats else {},
        platform_paid=Decimal(paid),
        **destination,
    )


# --- flat fee per reward -------------------------------------------------------------


def test_flat_fee_is_the_rewards_fee_in_the_zone(zoned):
    result = quote(zoned, zoned.core)
    assert result.zone == zoned.europe
    assert result.method == ShippingMethod.FLAT_PER_REWARD
    assert result.fee == Decimal("12.00")
    assert result.explanation == ["Zone Europe, reward Core box: 12.00"]


def test_flat_fee_ignores_add_ons(zoned):
    assert quote(zoned, zoned.core, playmats=3).fee == Decimal("12.00")


def test_flat_fee_follows_the_most_specific_zone(zoned):
    assert quote(zoned, zoned.deluxe, "US", region="HI").fee == Decimal("28.00")


def test_reward_without_a_fee_in_the_zone_is_refused(zoned):
    fees.save_reward_fees(campaign=zoned.campaign, fees={(zoned.core.pk, zoned.europe.pk): None})
    with pytest.raises(FeeMissing) as caught:
        quote(zoned, zoned.core)
    assert caught.value.code == "fee_missing"


def test_order_without_reward_has_no_reward_fee(zoned):
    result = quote(zoned, None, lines=[])
    assert result.fee == Decimal("0.00")
    assert result.explanation == ["Zone Europe, no reward: 0.00"]


def test_reward_of_another_campaign_is_refused(zoned):
    stranger = RewardFactory()
    with pytest.raises(CartInvalid):
        quote(zoned, stranger, lines=[])


def test_excluded_destination_gets_no_quote(zoned):
    with pytest.raises(ShipsNowhere):
        quote(zoned, zoned.core, "RU")


# --- reward plus add-ons -------------------------------------------------------------


def test_each_add_on_unit_adds_its_fee(zoned):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    result = quote(zoned, zoned.core, playmats=2)
    assert result.fee == Decimal("18.00")
    assert result.explanation == [
        "Zone Europe, reward Core box: 12.00",
        "Add-on Playmat × 2 at 3.00: 6.00",
    ]


def test_add_on_increment_is_the_zones(zoned):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    assert quote(zoned, zoned.core, "US", playmats=2).fee == Decimal("15.00")


def test_add_on_without_a_fee_in_the_zone_adds_nothing(zoned):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    result = quote(zoned, zoned.core, "JP", playmats=2)
    assert result.fee == Decimal("30.00")
    assert result.explanation[-1] == "Add-on Playmat × 2: no extra shipping"


def test_negative_add_on_units_are_refused(zoned):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    with pytest.raises(CartInvalid):
        quote_shipping(
            campaign=zoned.campaign,
            country="DE",
            reward_id=zoned.core.pk,
            lines=[],
            addon_units={zoned.playmat.pk: -1},
            platform_paid=Decimal(0),
        )


# --- by weight -----------------------------------------------------------------------


def test_weight_picks_the_smallest_band_that_holds_the_parcel(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    result = quote(zoned, zoned.deluxe)
    assert (result.weight_g, result.fee) == (2600, Decimal("18.00"))
    assert result.explanation == ["Weight 2,600 g → band up to 3,000 g: 18.00"]


def test_weight_counts_add_ons(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    result = quote(zoned, zoned.deluxe, playmats=1)
    assert (result.weight_g, result.fee) == (3100, Decimal("26.00"))


def test_weight_at_the_band_limit_stays_in_the_band(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    result = quote(zoned, zoned.core, playmats=2)  # 2,000 + 2 × 500 = 3,000 g
    assert (result.weight_g, result.fee) == (3000, Decimal("18.00"))


def test_volumetric_weight_counts_when_larger(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS, volumetric=True)
    result = quote(zoned, zoned.core, playmats=1)  # 2,500 g real, 6,000 g volumetric
    assert (result.weight_g, result.volumetric_g, result.fee) == (2500, 6000, Decimal("26.00"))
    assert result.explanation == ["Weight 2,500 g (volumetric 6,000 g) → band up to 6,000 g: 26.00"]


def test_real_weight_counts_when_volumetric_is_off(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS, volumetric=False)
    assert quote(zoned, zoned.core, playmats=1).fee == Decimal("18.00")


def test_volumetric_divisor_changes_the_volumetric_weight(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS, volumetric=True, divisor=10000)
    result = quote(zoned, zoned.core, playmats=1)  # 30,000,000 mm³ / 10000 = 3,000 g
    assert (result.volumetric_g, result.fee) == (3000, Decimal("18.00"))


def test_volumetric_weight_rounds_up_to_the_gram(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS, volumetric=True, divisor=7000)
    result = quote(zoned, zoned.core)  # 9,000,000 / 7000 = 1,285.7 g
    assert result.volumetric_g == 1286


def test_digital_skus_weigh_nothing(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    lines = zoned.lines(zoned.core) + [
        BomLine(sku=zoned.sku["PDF"], quantity=5, source="reward", detail="")
    ]
    assert quote(zoned, zoned.core, lines=lines).weight_g == 2000


def test_digital_only_order_ships_free_by_weight(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    result = quote(zoned, zoned.digital)
    assert (result.weight_g, result.fee) == (0, Decimal("0.00"))
    assert result.explanation == ["Nothing to ship: 0.00"]


def test_parcel_above_the_largest_band_is_refused(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS, volumetric=True)
    with pytest.raises(FeeMissing) as caught:
        quote(zoned, zoned.core, playmats=2)  # 10,200 g volumetric
    assert "6,000 g" in caught.value.message


def test_pending_choice_weighs_its_default(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    pending = BomLine(
        sku=None,
        quantity=2,
        source="choice_pending",
        detail="Colour",
        default_sku=zoned.sku["BOOK"],
    )
    result = quote(zoned, zoned.core, lines=zoned.lines(zoned.core) + [pending])
    assert result.weight_g == 3200


def test_units_without_a_weight_are_said(zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    unweighed = SkuFactory(organization=zoned.campaign.organization, weight_g=None)
    lines = zoned.lines(zoned.core) + [
        BomLine(sku=unweighed, quantity=1, source="addon", detail="")
    ]
    result = quote(zoned, zoned.core, lines=lines)
    assert result.weight_g == 2000
    assert result.explanation[-1] == "1 unit(s) without a weight counted as 0 g"


# --- platform credit -----------------------------------------------------------------


def test_platform_shipping_is_credited(zoned):
    result = quote(zoned, zoned.core, paid="10")
    assert (result.fee, result.credited, result.due) == (
        Decimal("12.00"),
        Decimal("10.00"),
        Decimal("2.00"),
    )
    assert result.explanation[-1] == "Paid on Kickstarter: −10.00"


def test_credit_is_never_more_than_the_fee(zoned):
    result = quote(zoned, zoned.core, paid="15")
    assert (result.credited, result.due) == (Decimal("12.00"), Decimal("0.00"))
    assert (
        result.explanation[-1]
        == "Paid on Kickstarter: −12.00 (15.00 paid, credit limited to the fee)"
    )


def test_platform_shipping_is_not_credited_when_the_campaign_says_so(zoned):
    use_method(zoned.campaign, ShippingMethod.FLAT_PER_REWARD, credit=False)
    result = quote(zoned, zoned.core, paid="10")
    assert (result.credited, result.due) == (Decimal("0.00"), Decimal("12.00"))
    assert result.explanation[-1] == "Paid on Kickstarter: 10.00, not credited"


# --- rounding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"), [("12.345", "12.35"), ("12.344", "12.34"), ("0.005", "0.01")]
)
def test_fees_are_rounded_half_up_to_the_cent(zoned, typed, stored):
    fees.save_reward_fees(campaign=zoned.campaign, fees={(zoned.core.pk, zoned.europe.pk): typed})
    assert quote(zoned, zoned.core).fee == Decimal(stored)


def test_platform_payment_is_rounded_half_up_before_the_credit(zoned):
    result = quote(zoned, zoned.core, paid="9.995")
    assert (result.credited, result.due) == (Decimal("10.00"), Decimal("2.00"))


def test_add_on_line_is_rounded_once(zoned):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    fees.save_addon_fees(
        campaign=zoned.campaign, fees={(zoned.playmat.pk, zoned.europe.pk): "0.335"}
    )
    result = quote(zoned, zoned.core, playmats=3)  # 0.34 per unit × 3
    assert result.fee == Decimal("13.02")


# --- configured? and cost ------------------------------------------------------------


def test_campaign_without_zones_is_not_configured(shop):
    assert shipping_is_configured(campaign=shop.campaign) is False


def test_campaign_with_zones_and_fees_is_configured(zoned):
    assert shipping_is_configured(campaign=zoned.campaign) is True


def test_weight_method_without_bands_is_not_configured(shop):
    from shipping.services import zones

    zones.create_zone(campaign=shop.campaign, name="Europe", countries=["DE"])
    use_method(shop.campaign, ShippingMethod.WEIGHT_BANDS)
    assert shipping_is_configured(campaign=shop.campaign) is False


def test_quote_costs_a_fixed_number_of_queries(zoned, django_assert_max_num_queries):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    with django_assert_max_num_queries(7):
        quote(zoned, zoned.core, playmats=2)
