"""The map check, lock/unlock and preview URLs, for tests/accounts/test_tenancy.py."""

from tests.factories import RewardItemFactory


def _slug(o):
    return {"slug": o["campaign"].slug}


URLS = {
    "sku-map-check": _slug,
    "sku-map-lock": _slug,
    "sku-map-unlock": _slug,
    "bom-preview": _slug,
}


def build(victim: dict) -> dict:
    """A lockable map (the victim backer's reward has an item), so an outsider's
    lock POST would succeed if it were not refused."""
    pledge = victim["backer"].pledges.get()
    item = RewardItemFactory(reward=pledge.reward)
    return {"map_reward_item": item}
