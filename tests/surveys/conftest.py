"""Fixtures of the add-on tests: SKUs of the campaign's organization, rewards and
pledges with add-ons imported as text."""

from decimal import Decimal

import pytest
from djmoney.money import Money

from accounts.models import Role
from inventory import bom
from pledges.models import PaymentStatus
from tests.conftest import member
from tests.factories import BackerFactory, PledgeFactory, RewardFactory, SkuFactory


@pytest.fixture(autouse=True)
def empty_catalog_cache():
    """Survey pages keep catalogs per process: every test starts without any."""
    bom.forget_cached()
    yield
    bom.forget_cached()


@pytest.fixture
def mat(organization):
    return SkuFactory(organization=organization, code="MAT", name="Playmat")


@pytest.fixture
def sleeves(organization):
    return SkuFactory(organization=organization, code="SLV", name="Sleeves")


@pytest.fixture
def reward(campaign):
    return RewardFactory(campaign=campaign, title="Core box", minimum=Money("59.00", "USD"))


def login(client, organization, role=Role.OWNER):
    client.force_login(member(organization, role))
    return client


def pledge(
    campaign,
    addons_text: str,
    *,
    reward=None,
    paid_for_addons: str = "0",
    shipping: str = "0",
    bonus: str = "0",
    status: str = PaymentStatus.COLLECTED,
):
    """A collected pledge whose amount is the reward minimum + shipping + bonus +
    what the add-ons cost."""
    currency = campaign.currency
    minimum = reward.minimum.amount if reward is not None else Decimal("0")
    amount = minimum + Decimal(paid_for_addons) + Decimal(shipping) + Decimal(bonus)
    return PledgeFactory(
        backer=BackerFactory(campaign=campaign),
        reward=reward,
        amount=Money(amount, currency),
        shipping_paid=Money(shipping, currency),
        bonus_support=Money(bonus, currency),
        addons_text=addons_text,
        payment_status=status,
    )
