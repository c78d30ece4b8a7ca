"""Add-on URLs for the tenancy test (tests/accounts/test_tenancy.py): another
organization's people get 404 on each of them."""


def _offer(o):
    return {"slug": o["campaign"].slug, "offer_id": o["addons_offer"].pk}


def _item(o):
    return {**_offer(o), "item_id": o["addons_offer_item"].pk}


URLS = {
    "addon-list": lambda o: {"slug": o["campaign"].slug},
    "addon-create": lambda o: {"slug": o["campaign"].slug},
    "addon-edit": _offer,
    "addon-delete": _offer,
    "addon-item-add": _offer,
    "addon-item-update": _item,
    "addon-item-delete": _item,
    "imported-addon-list": lambda o: {"slug": o["campaign"].slug},
}


def build(victim: dict) -> dict:
    from surveys.models import AddOnOfferItem, ImportedAddOn
    from tests.factories import AddOnOfferFactory, SkuFactory

    offer = AddOnOfferFactory(campaign=victim["campaign"], name="Victim playmat")
    item = AddOnOfferItem.objects.create(
        offer=offer, sku=SkuFactory(organization=victim["organization"]), quantity=2
    )
    ImportedAddOn.objects.create(campaign=victim["campaign"], text="Playmat", offer=offer)
    return {"addons_offer": offer, "addons_offer_item": item}
