"""A small shop for the shipping tests: two physical rewards and a digital one,
a playmat add-on, and zones Europe (with Germany's islands by postal code),
United States (Alaska and Hawaii apart) and the rest of the world."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from djmoney.money import Money

from accounts.models import Role
from inventory.bom import BomLine
from pledges.models import RewardItem
from shipping.services import fees, profiles, zones
from surveys.models import AddOnOfferItem
from tests.conftest import member
from tests.factories import AddOnOfferFactory, RewardFactory, SkuFactory


@dataclass
class Shop:
    campaign: object
    core: object  # reward: a 2,000 g box
    deluxe: object  # reward: box + art book
    digital: object  # reward: a PDF only
    playmat: object  # add-on offer
    sku: dict
    europe: object = None
    islands: object = None
    us: object = None
    remote_us: object = None
    world: object = None

    def lines(self, reward, *, playmats: int = 0) -> list[BomLine]:
        """BOM lines as inventory.bom would give them."""
        items = {
            self.core.pk: [("BOX", 1)],
            self.deluxe.pk: [("BOX", 1), ("BOOK", 1)],
            self.digital.pk: [("PDF", 1)],
        }[reward.pk]
        lines = [
            BomLine(sku=self.sku[c], quantity=q, source="reward", detail=reward.title)
            for c, q in items
        ]
        if playmats:
            lines.append(
                BomLine(sku=self.sku["MAT"], quantity=playmats, source="addon", detail="Playmat")
            )
        return lines


def login(client, organization, role=Role.OWNER):
    client.force_login(member(organization, role))
    return client


@pytest.fixture
def shop(campaign):
    org = campaign.organization
    sku = {
        # 300 × 300 × 100 mm = 9,000,000 mm³ → 1,800 g volumetric at 5000
        "BOX": SkuFactory(
            organization=org, code="BOX", weight_g=2000, length_mm=300, width_mm=300, height_mm=100
        ),
        # 400 × 300 × 50 mm = 6,000,000 mm³ → 1,200 g volumetric
        "BOOK": SkuFactory(
            organization=org, code="BOOK", weight_g=600, length_mm=400, width_mm=300, height_mm=50
        ),
        # 600 × 350 × 100 mm = 21,000,000 mm³ → 4,200 g volumetric (light but bulky)
        "MAT": SkuFactory(
            organization=org, code="MAT", weight_g=500, length_mm=600, width_mm=350, height_mm=100
        ),
        "PDF": SkuFactory(organization=org, code="PDF", weight_g=None, is_digital=True),
    }
    core = RewardFactory(campaign=campaign, title="Core box", minimum=Money("59.00", "USD"))
    deluxe = RewardFactory(campaign=campaign, title="Deluxe", minimum=Money("99.00", "USD"))
    digital = RewardFactory(campaign=campaign, title="PDF", minimum=Money("15.00", "USD"))
    RewardItem.objects.create(reward=core, sku=sku["BOX"])
    RewardItem.objects.create(reward=deluxe, sku=sku["BOX"])
    RewardItem.objects.create(reward=deluxe, sku=sku["BOOK"])
    RewardItem.objects.create(reward=digital, sku=sku["PDF"])
    playmat = AddOnOfferFactory(campaign=campaign, name="Playmat")
    AddOnOfferItem.objects.create(offer=playmat, sku=sku["MAT"])
    return Shop(
        campaign=campaign, core=core, deluxe=deluxe, digital=digital, playmat=playmat, sku=sku
    )


@pytest.fixture
def zoned(shop):
    """The shop with its zones, reward fees, add-on fees and weight bands."""
    campaign = shop.campaign
    shop.europe = zones.create_zone(campaign=campaign, name="Europe", countries=["DE", "FR", "GB"])
    shop.islands = zones.create_zone(
        campaign=campaign, name="UK islands", postal_prefixes=["GB:HS", "GB:ZE"]
    )
    shop.us = zones.create_zone(campaign=campaign, name="United States", countries=["US"])
    shop.remote_us = zones.create_zone(
        campaign=campaign, name="Alaska & Hawaii", regions=["US-AK", "US-HI"]
    )
    shop.world = zones.create_zone(campaign=campaign, name="Rest of world", is_rest_of_world=True)
    reward_fees = {}
    for zone, core, deluxe in [
        (shop.europe, "12.00", "15.00"),
        (shop.islands, "20.00", "25.00"),
        (shop.us, "10.00", "13.00"),
        (shop.remote_us, "22.00", "28.00"),
        (shop.world, "30.00", "38.00"),
    ]:
        reward_fees[(shop.core.pk, zone.pk)] = Decimal(core)
        reward_fees[(shop.deluxe.pk, zone.pk)] = Decimal(deluxe)
        reward_fees[(shop.digital.pk, zone.pk)] = Decimal("0")
    fees.save_reward_fees(campaign=campaign, fees=reward_fees)
    fees.save_addon_fees(
        campaign=campaign,
        fees={
            (shop.playmat.pk, shop.europe.pk): Decimal("3.00"),
            (shop.playmat.pk, shop.us.pk): Decimal("2.50"),
        },
    )
    for zone in (shop.europe, shop.islands, shop.us, shop.remote_us, shop.world):
        fees.save_weight_bands(
            zone=zone,
            bands=[(1000, Decimal("8.00")), (3000, Decimal("18.00")), (6000, Decimal("26.00"))],
        )
    profiles.set_excluded_countries(campaign=campaign, countries=["RU"])
    return shop


def use_method(campaign, method, *, volumetric=False, credit=True, divisor=5000):
    profiles.update_shipping_method(
        campaign=campaign,
        method=method,
        use_volumetric=volumetric,
        volumetric_divisor=divisor,
        credit_platform_shipping=credit,
    )
