"""Demand report URLs for the tenancy test (tests/accounts/test_tenancy.py)."""

from pledges.models import RewardItem
from tests.factories import SkuFactory

URLS = {
    "demand-report": lambda o: {"slug": o["campaign"].slug},
    "demand-report-csv": lambda o: {"slug": o["campaign"].slug},
}


def build(victim: dict) -> dict:
    """A mapped reward, so the victim's report would have figures to leak."""
    pledge = victim["backer"].pledges.get()
    RewardItem.objects.create(
        reward=pledge.reward,
        sku=SkuFactory(organization=victim["organization"], code="SECRET-SKU"),
    )
    return {}
