"""The SKU map's lock: rewards, choices, regional rules, stretch goals and
add-on offers change only while it is open."""

from django.db import transaction
from django.utils import timezone

from ..errors import PledgesError, SkuMapBlocked, SkuMapLocked
from ..models import Campaign, SkuMapEvent

MAX_REASON = 2000


class SkuMapRefused(PledgesError):
    """A lock or unlock that would change nothing, or an unlock without a reason;
    `field` names the form field the message belongs next to."""

    code = "sku_map_refused"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def ensure_sku_map_editable(*, campaign: Campaign) -> None:
    """Refuse any change to the campaign's SKU map while it is locked."""
    if campaign.sku_map_locked_at is not None:
        raise SkuMapLocked(
            "The SKU map is locked. Unlock it (with a reason) on the map check page to change it."
        )


def lock_sku_map(*, campaign: Campaign, actor) -> Campaign:
    """Lock the SKU map so surveys go out against a settled catalog.

    Refused while the map check finds anything blocking (checked under the
    campaign row's lock, the same lock every map change takes, so a change made
    meanwhile is either seen or refused) and when the map is already locked."""
    # The check reads the whole map through inventory; imported here because
    # inventory builds on pledges, not the other way round.
    from inventory import bom
    from inventory.mapcheck import sku_map_problems

    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.sku_map_locked_at is not None:
            raise SkuMapRefused("The SKU map is already locked.")
        blocking = [p for p in sku_map_problems(campaign=locked) if p.blocking]
        if blocking:
            count = len(blocking)
            raise SkuMapBlocked(
                f"The SKU map cannot be locked: {count} problem{'s' if count != 1 else ''} "
                f"to fix first (see the checklist)."
            )
        locked.sku_map_locked_at = timezone.now()
        locked.sku_map_locked_by = actor
        locked.save(update_fields=["sku_map_locked_at", "sku_map_locked_by", "updated_at"])
        SkuMapEvent.objects.create(campaign=locked, actor=actor, action="locked")
        bom.catalog_changed(campaign=locked)
    campaign.sku_map_locked_at = locked.sku_map_locked_at
    campaign.sku_map_locked_by = locked.sku_map_locked_by
    return locked


def unlock_sku_map(*, campaign: Campaign, actor, reason: str) -> Campaign:
    """Open a locked SKU map again; the reason is required and logged."""
    reason = (reason or "").strip()
    if not reason:
        raise SkuMapRefused(
            "Say why the SKU map is unlocked; the reason is logged.", field="reason"
        )
    if len(reason) > MAX_REASON:
        raise SkuMapRefused(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    from inventory import bom  # inventory builds on pledges: imported here, as in lock_sku_map

    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.sku_map_locked_at is None:
            raise SkuMapRefused("The SKU map is not locked.")
        locked.sku_map_locked_at = None
        locked.sku_map_locked_by = None
        locked.save(update_fields=["sku_map_locked_at", "sku_map_locked_by", "updated_at"])
        SkuMapEvent.objects.create(campaign=locked, actor=actor, action="unlocked", reason=reason)
        bom.catalog_changed(campaign=locked)
    campaign.sku_map_locked_at = None
    campaign.sku_map_locked_by = None
    return locked
