"""The SKU map's lock: rewards, choices, regional rules, stretch goals and
add-on offers change only while it is open."""

from ..errors import SkuMapLocked
from ..models import Campaign


def ensure_sku_map_editable(*, campaign: Campaign) -> None:
    """Refuse any change to the campaign's SKU map while it is locked."""
    if campaign.sku_map_locked_at is not None:
        raise SkuMapLocked(
            "The SKU map is locked. Unlock it (with a reason) on the map check page to change it."
        )
