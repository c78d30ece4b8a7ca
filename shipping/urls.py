"""Back-office URLs of the shipping app (mounted under /app/)."""

from django.urls import path

from . import views

SHIPPING = "c/<slug:slug>/shipping/"
ZONE = f"{SHIPPING}zones/<int:zone_id>/"
CARD = f"{SHIPPING}rate-cards/<int:card_id>/"

urlpatterns: list = [
    path(SHIPPING, views.zone_list, name="shipping-zones"),
    path(f"{SHIPPING}zones/new/", views.zone_create, name="shipping-zone-create"),
    path(ZONE, views.zone_edit, name="shipping-zone-edit"),
    path(f"{ZONE}delete/", views.zone_delete, name="shipping-zone-delete"),
    path(f"{ZONE}bands/", views.zone_bands, name="shipping-zone-bands"),
    path(f"{SHIPPING}excluded/", views.excluded_countries, name="shipping-excluded"),
    path(f"{SHIPPING}fees/", views.fees, name="shipping-fees"),
    path(f"{SHIPPING}fees/method/", views.method, name="shipping-method"),
    path(f"{SHIPPING}fees/rewards/", views.reward_fees, name="shipping-reward-fees"),
    path(f"{SHIPPING}fees/add-ons/", views.addon_fees, name="shipping-addon-fees"),
    path(f"{SHIPPING}calculator/", views.calculator, name="shipping-calculator"),
    path(f"{SHIPPING}rate-cards/", views.rate_cards, name="shipping-rate-cards"),
    path(CARD, views.rate_card_detail, name="shipping-rate-card"),
    path(f"{CARD}delete/", views.rate_card_delete, name="shipping-rate-card-delete"),
    path(f"{SHIPPING}margins/", views.margins, name="shipping-margins"),
]
