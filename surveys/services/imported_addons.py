"""How the add-ons already bought on the platform (kept as text by the import) map
to add-on offers: one ImportedAddOn row per distinct item text of a campaign."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from inventory import bom
from pledges.models import Campaign
from pledges.services.sku_map import ensure_sku_map_editable

from ..errors import ImportedAddOnInvalid
from ..models import AddOnOffer, ImportedAddOn

TEXT_MAX = ImportedAddOn._meta.get_field("text").max_length


@dataclass(frozen=True)
class ImportedAddOnMapping:
    """What one item text becomes: `units_per_item` units of `offer` per item
    bought, or nothing extra (`included_in_reward`), or unmapped (neither)."""

    text: str
    offer: AddOnOffer | None = None
    units_per_item: int = 1
    included_in_reward: bool = False


@dataclass(frozen=True)
class MappingResult:
    created: int
    updated: int
    cleared: int
    unchanged: int


def map_imported_addons(
    *, campaign: Campaign, mappings: Iterable[ImportedAddOnMapping], actor
) -> MappingResult:
    """Save the mapping of several imported add-on texts at once, all or nothing.

    Offers belong to the campaign; a text maps to an offer or is included in the
    reward, not both; units per item is at least 1; each text once. A text set to
    unmapped loses its row, so "no row" and "unmapped" mean the same."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        ensure_sku_map_editable(campaign=locked)
        result = apply_imported_addon_mappings(campaign=locked, mappings=mappings)
        bom.catalog_changed(campaign=locked)
        return result


def _check(campaign: Campaign, mapping: ImportedAddOnMapping) -> None:
    text = mapping.text
    if not text or text != text.strip():
        raise ImportedAddOnInvalid(f"“{text}” is not an add-on text of the report.")
    if mapping.offer is not None and mapping.included_in_reward:
        raise ImportedAddOnInvalid(
            f"“{text}”: choose an offer or “included in the reward”, not both."
        )
    if mapping.offer is not None and mapping.offer.campaign_id != campaign.pk:
        raise ImportedAddOnInvalid(f"“{text}”: choose one of this campaign's add-on offers.")
    if mapping.units_per_item is None or mapping.units_per_item < 1:
        raise ImportedAddOnInvalid(f"“{text}”: units per item is at least 1.")
    mapped = mapping.offer is not None or mapping.included_in_reward
    if mapped and len(text) > TEXT_MAX:
        raise ImportedAddOnInvalid(
            f"“{text[:60]}…” is longer than {TEXT_MAX} characters and cannot be mapped; "
            "shorten that column's header in the report and import it again."
        )


def apply_imported_addon_mappings(
    *, campaign: Campaign, mappings: Iterable[ImportedAddOnMapping]
) -> MappingResult:
    """The body of map_imported_addons for callers already inside a transaction that
    checked the SKU map lock (creating an offer from a text maps it in one step)."""
    mappings = list(mappings)
    seen: set[str] = set()
    for mapping in mappings:
        _check(campaign, mapping)
        if mapping.text in seen:
            raise ImportedAddOnInvalid(f"“{mapping.text}” is mapped twice.")
        seen.add(mapping.text)

    # Rows locked in text order so two saves of the same screen cannot deadlock.
    existing = {
        row.text: row
        for row in ImportedAddOn.objects.select_for_update()
        .filter(campaign=campaign, text__in=seen)
        .order_by("text")
    }
    now = timezone.now()
    to_create, to_update, to_delete, unchanged = [], [], [], 0
    for mapping in mappings:
        row = existing.get(mapping.text)
        mapped = mapping.offer is not None or mapping.included_in_reward
        if not mapped:
            if row is not None:
                to_delete.append(row.pk)
            else:
                unchanged += 1
            continue
        values = {
            "offer_id": mapping.offer.pk if mapping.offer is not None else None,
            "units_per_item": mapping.units_per_item if mapping.offer is not None else 1,
            "included_in_reward": mapping.included_in_reward,
        }
        if row is None:
            to_create.append(ImportedAddOn(campaign=campaign, text=mapping.text, **values))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            to_update.append(row)
        else:
            unchanged += 1
    ImportedAddOn.objects.bulk_create(to_create)
    ImportedAddOn.objects.bulk_update(
        to_update, ["offer", "units_per_item", "included_in_reward", "updated_at"]
    )
    ImportedAddOn.objects.filter(pk__in=to_delete).delete()
    return MappingResult(
        created=len(to_create), updated=len(to_update), cleared=len(to_delete), unchanged=unchanged
    )
