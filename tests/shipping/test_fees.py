"""Saving fees, add-on increments, weight bands and the method: the rules the
services keep whatever the page sends."""

from decimal import Decimal

import pytest

from shipping.errors import FeeInvalid, ShippingError
from shipping.models import AddOnZoneFee, RewardZoneFee, ShippingMethod, WeightBand
from shipping.services import fees, profiles, zones
from tests.factories import CampaignFactory, RewardFactory


def test_reward_fee_is_saved_in_the_campaigns_currency(zoned):
    row = RewardZoneFee.objects.get(reward=zoned.core, zone=zoned.europe)
    assert row.fee.amount == Decimal("12.00")
    assert str(row.fee.currency) == zoned.campaign.currency


def test_blank_cell_removes_the_fee(zoned):
    changed = fees.save_reward_fees(
        campaign=zoned.campaign, fees={(zoned.core.pk, zoned.europe.pk): ""}
    )
    assert changed == 1
    assert not RewardZoneFee.objects.filter(reward=zoned.core, zone=zoned.europe).exists()


def test_unchanged_cells_are_not_counted(zoned):
    changed = fees.save_reward_fees(
        campaign=zoned.campaign,
        fees={
            (zoned.core.pk, zoned.europe.pk): Decimal("12"),
            (zoned.deluxe.pk, zoned.europe.pk): "16",
        },
    )
    assert changed == 1


def test_negative_fee_is_refused_and_nothing_is_saved(zoned):
    with pytest.raises(FeeInvalid) as caught:
        fees.save_reward_fees(
            campaign=zoned.campaign,
            fees={(zoned.core.pk, zoned.europe.pk): "5", (zoned.deluxe.pk, zoned.europe.pk): "-1"},
        )
    assert caught.value.code == "fee_invalid"
    assert RewardZoneFee.objects.get(reward=zoned.core, zone=zoned.europe).fee.amount == Decimal(
        "12.00"
    )


def test_text_that_is_no_amount_is_refused(zoned):
    with pytest.raises(FeeInvalid):
        fees.save_reward_fees(
            campaign=zoned.campaign, fees={(zoned.core.pk, zoned.europe.pk): "twelve"}
        )


def test_reward_of_another_campaign_is_refused(zoned):
    stranger = RewardFactory(campaign=CampaignFactory(organization=zoned.campaign.organization))
    with pytest.raises(FeeInvalid):
        fees.save_reward_fees(campaign=zoned.campaign, fees={(stranger.pk, zoned.europe.pk): "5"})


def test_zone_of_another_campaign_is_refused(zoned):
    other = CampaignFactory(organization=zoned.campaign.organization)
    foreign = zones.create_zone(campaign=other, name="Europe", countries=["DE"])
    with pytest.raises(FeeInvalid):
        fees.save_reward_fees(campaign=zoned.campaign, fees={(zoned.core.pk, foreign.pk): "5"})


def test_add_on_fee_per_unit_is_saved(zoned):
    assert AddOnZoneFee.objects.get(offer=zoned.playmat, zone=zoned.us).fee.amount == Decimal(
        "2.50"
    )


def test_weight_bands_are_replaced_and_sorted(zoned):
    fees.save_weight_bands(zone=zoned.europe, bands=[(5000, "20"), (500, "6.5")])
    bands = list(WeightBand.objects.filter(zone=zoned.europe).values_list("up_to_g", "fee"))
    assert bands == [(500, Decimal("6.50")), (5000, Decimal("20.00"))]


def test_two_bands_ending_at_the_same_weight_are_refused(zoned):
    with pytest.raises(FeeInvalid):
        fees.save_weight_bands(zone=zoned.europe, bands=[(1000, "5"), (1000, "6")])
    assert WeightBand.objects.filter(zone=zoned.europe).count() == 3


def test_band_of_zero_grams_is_refused(zoned):
    with pytest.raises(FeeInvalid):
        fees.save_weight_bands(zone=zoned.europe, bands=[(0, "5")])


def test_unknown_method_is_refused(shop):
    with pytest.raises(ShippingError) as caught:
        profiles.update_shipping_method(
            campaign=shop.campaign,
            method="by_mood",
            use_volumetric=False,
            credit_platform_shipping=True,
        )
    assert caught.value.field == "method"


def test_volumetric_divisor_below_one_is_refused(shop):
    with pytest.raises(ShippingError) as caught:
        profiles.update_shipping_method(
            campaign=shop.campaign,
            method=ShippingMethod.WEIGHT_BANDS,
            use_volumetric=True,
            volumetric_divisor=0,
            credit_platform_shipping=True,
        )
    assert caught.value.field == "volumetric_divisor"


def test_profile_starts_with_flat_fees_and_platform_credit(shop):
    profile = profiles.profile_for(campaign=shop.campaign)
    assert (profile.method, profile.credit_platform_shipping, profile.volumetric_divisor) == (
        ShippingMethod.FLAT_PER_REWARD,
        True,
        5000,
    )
    assert profile.pk is None


def test_a_yen_fee_is_rounded_to_whole_yen(zoned):
    zoned.campaign.currency = "JPY"
    zoned.campaign.save(update_fields=["currency"])
    fees.save_reward_fees(
        campaign=zoned.campaign, fees={(zoned.core.pk, zoned.europe.pk): "1500.5"}
    )
    row = RewardZoneFee.objects.get(reward=zoned.core, zone=zoned.europe)
    assert row.fee.amount == Decimal("1501")


def test_a_yen_quote_is_in_whole_yen(zoned):
    from shipping.calculation import compute_quote, load_shipping_table

    zoned.campaign.currency = "JPY"
    zoned.campaign.save(update_fields=["currency"])
    table = load_shipping_table(campaign=zoned.campaign)
    quote = compute_quote(
        table,
        country="DE",
        reward_id=zoned.core.pk,
        lines=[],
        addon_units={zoned.playmat.pk: 3},
        platform_paid=Decimal("0.4"),
    )
    assert quote.fee == quote.fee.quantize(Decimal("1"))
    assert quote.credited == Decimal("0")
