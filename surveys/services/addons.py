"""Add-on offers and their components: what a backer can buy on top of the reward.

Every change here is a change to the SKU map, refused while the map is locked."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from djmoney.money import Money

from inventory import bom
from inventory.models import Sku
from pledges.models import Campaign, Reward
from pledges.services.sku_map import ensure_sku_map_editable

from ..errors import AddOnInvalid
from ..models import AddOnOffer, AddOnOfferItem
from .imported_addons import ImportedAddOnMapping, apply_imported_addon_mappings


def _lock_editable_map(campaign: Campaign) -> Campaign:
    """Re-read the campaign inside the transaction, row-locked, so a lock taken by
    another request between page load and save is seen, then check the map is open."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    ensure_sku_map_editable(campaign=locked)
    # Every change here starts with this lock: the survey pages' cached offers
    # and map are marked stale in the same transaction.
    bom.catalog_changed(campaign=locked)
    return locked


def _check_offer(
    *,
    campaign: Campaign,
    name: str,
    price: Money,
    stock_limit: int | None,
    per_backer_limit: int | None,
    tiers: Iterable[Reward],
    opens_at: datetime | None,
    closes_at: datetime | None,
) -> list[Reward]:
    if not (name or "").strip():
        raise AddOnInvalid("Give the add-on a name backers will recognise.", field="name")
    if not isinstance(price, Money):
        raise AddOnInvalid("The price must be an amount of money.", field="price")
    if str(price.currency) != campaign.currency:
        raise AddOnInvalid(
            f"Prices are in the campaign's currency ({campaign.currency}), not {price.currency}.",
            field="price",
        )
    if price.amount < 0:
        raise AddOnInvalid("The price cannot be negative.", field="price")
    if stock_limit is not None and stock_limit < 1:
        raise AddOnInvalid(
            "Leave the stock limit blank for unlimited, or give at least 1.", field="stock_limit"
        )
    if per_backer_limit is not None and per_backer_limit < 1:
        raise AddOnInvalid(
            "Leave the limit blank for unlimited, or give at least 1.", field="per_backer_limit"
        )
    tiers = list(tiers)
    if any(tier.campaign_id != campaign.pk for tier in tiers):
        raise AddOnInvalid("Only this campaign's reward tiers can be chosen.", field="tiers")
    if opens_at and closes_at and closes_at <= opens_at:
        raise AddOnInvalid("The add-on must close after it opens.", field="closes_at")
    return tiers


def create_addon_offer(
    *,
    campaign: Campaign,
    actor,
    name: str,
    price: Money,
    description: str = "",
    stock_limit: int | None = None,
    per_backer_limit: int | None = None,
    tiers: Iterable[Reward] = (),
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    is_active: bool = True,
    imported_text: str = "",
) -> AddOnOffer:
    """Create an add-on offer of the campaign.

    The price is in the campaign's currency; tiers (none = every tier) belong to
    the campaign; it closes after it opens. With `imported_text`, that add-on
    text of the backer report is mapped to the new offer in the same step."""
    with transaction.atomic():
        campaign = _lock_editable_map(campaign)
        tiers = _check_offer(
            campaign=campaign,
            name=name,
            price=price,
            stock_limit=stock_limit,
            per_backer_limit=per_backer_limit,
            tiers=tiers,
            opens_at=opens_at,
            closes_at=closes_at,
        )
        last = campaign.addon_offers.order_by("-position").values_list("position", flat=True)
        offer = AddOnOffer.objects.create(
            campaign=campaign,
            name=name.strip(),
            description=description,
            price=price,
            stock_limit=stock_limit,
            per_backer_limit=per_backer_limit,
            opens_at=opens_at,
            closes_at=closes_at,
            is_active=is_active,
            position=(last.first() or 0) + 1,
        )
        offer.tiers.set(tiers)
        if imported_text:
            apply_imported_addon_mappings(
                campaign=campaign,
                mappings=[ImportedAddOnMapping(text=imported_text, offer=offer)],
            )
    return offer


def update_addon_offer(
    *,
    offer: AddOnOffer,
    actor,
    name: str,
    price: Money,
    description: str,
    stock_limit: int | None,
    per_backer_limit: int | None,
    tiers: Iterable[Reward],
    opens_at: datetime | None,
    closes_at: datetime | None,
    is_active: bool,
) -> AddOnOffer:
    """Change an add-on offer's terms, with the same rules as creating it."""
    with transaction.atomic():
        campaign = _lock_editable_map(offer.campaign)
        tiers = _check_offer(
            campaign=campaign,
            name=name,
            price=price,
            stock_limit=stock_limit,
            per_backer_limit=per_backer_limit,
            tiers=tiers,
            opens_at=opens_at,
            closes_at=closes_at,
        )
        offer.name = name.strip()
        offer.description = description
        offer.price = price
        offer.stock_limit = stock_limit
        offer.per_backer_limit = per_backer_limit
        offer.opens_at = opens_at
        offer.closes_at = closes_at
        offer.is_active = is_active
        # Not sold_units: update_cart keeps it under the row lock, this copy may be old.
        offer.save(
            update_fields=[
                "name",
                "description",
                "price",
                "price_currency",
                "stock_limit",
                "per_backer_limit",
                "opens_at",
                "closes_at",
                "is_active",
            ]
        )
        offer.tiers.set(tiers)
    return offer


def delete_addon_offer(*, offer: AddOnOffer, actor) -> None:
    """Delete an add-on offer with its components and choice groups; imported add-on
    texts mapped to it become unmapped (the map check then lists them)."""
    with transaction.atomic():
        _lock_editable_map(offer.campaign)
        offer.delete()


def _check_quantity(quantity: int) -> None:
    if quantity is None or quantity < 1:
        raise AddOnInvalid("The quantity is at least 1.", field="quantity")


def add_addon_item(*, offer: AddOnOffer, sku: Sku, quantity: int, actor) -> AddOnOfferItem:
    """Add a SKU × quantity to an offer (several components make a bundle).

    The SKU belongs to the campaign's organization and is not in the offer yet."""
    with transaction.atomic():
        campaign = _lock_editable_map(offer.campaign)
        if sku.organization_id != campaign.organization_id:
            raise AddOnInvalid("Choose one of your organization's SKUs.", field="sku")
        _check_quantity(quantity)
        if offer.items.filter(sku=sku).exists():
            raise AddOnInvalid(
                f"{sku.code} is already part of this add-on: change its quantity instead.",
                field="sku",
            )
        return AddOnOfferItem.objects.create(offer=offer, sku=sku, quantity=quantity)


def update_addon_item(*, item: AddOnOfferItem, quantity: int, actor) -> AddOnOfferItem:
    """Change how many units of its SKU a component holds."""
    with transaction.atomic():
        _lock_editable_map(item.offer.campaign)
        _check_quantity(quantity)
        item.quantity = quantity
        item.save(update_fields=["quantity"])
    return item


def remove_addon_item(*, item: AddOnOfferItem, actor) -> None:
    """Take a component out of its offer."""
    with transaction.atomic():
        _lock_editable_map(item.offer.campaign)
        item.delete()
