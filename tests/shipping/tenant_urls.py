"""Shipping URLs for the tenancy test (tests/accounts/test_tenancy.py): another
organization's people get 404 on each of them, and their POSTs change nothing."""


def _slug(o):
    return {"slug": o["campaign"].slug}


def _zone(o):
    return {"slug": o["campaign"].slug, "zone_id": o["shipping_zone"].pk}


def _card(o):
    return {"slug": o["campaign"].slug, "card_id": o["rate_card"].pk}


URLS = {
    "shipping-zones": _slug,
    "shipping-zone-create": _slug,
    "shipping-zone-edit": _zone,
    "shipping-zone-delete": _zone,
    "shipping-zone-bands": _zone,
    "shipping-excluded": _slug,
    "shipping-fees": _slug,
    "shipping-method": _slug,
    "shipping-reward-fees": _slug,
    "shipping-addon-fees": _slug,
    "shipping-calculator": _slug,
    "shipping-rate-cards": _slug,
    "shipping-rate-card": _card,
    "shipping-rate-card-delete": _card,
    "shipping-margins": _slug,
}


def build(victim: dict) -> dict:
    """A zone with bands and a rate card, so an outsider's delete or save would show."""
    from shipping.services import fees, zones
    from shipping.services.rate_cards import upload_rate_card

    campaign = victim["campaign"]
    zone = zones.create_zone(campaign=campaign, name="Victim's Europe", countries=["DE", "FR"])
    fees.save_weight_bands(zone=zone, bands=[(1000, "9.00")])
    card = upload_rate_card(
        campaign=campaign,
        data=b"zone_or_country,up_to_g,cost\nVictim's Europe,1000,7.00\n",
        original_name="victim.csv",
    )
    return {"shipping_zone": zone, "rate_card": card}
