from django.contrib import admin

from .models import AddOnOffer, AddOnOfferItem, ImportedAddOn


class AddOnOfferItemInline(admin.TabularInline):
    model = AddOnOfferItem
    extra = 0
    raw_id_fields = ["sku"]


@admin.register(AddOnOffer)
class AddOnOfferAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "price", "stock_limit", "per_backer_limit", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "campaign__name", "campaign__slug"]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign"]
    filter_horizontal = ["tiers"]
    inlines = [AddOnOfferItemInline]


@admin.register(AddOnOfferItem)
class AddOnOfferItemAdmin(admin.ModelAdmin):
    list_display = ["offer", "sku", "quantity"]
    search_fields = ["offer__name", "sku__code"]
    list_select_related = ["offer", "sku"]
    raw_id_fields = ["offer", "sku"]


@admin.register(ImportedAddOn)
class ImportedAddOnAdmin(admin.ModelAdmin):
    list_display = ["text", "campaign", "offer", "units_per_item", "included_in_reward"]
    list_filter = ["included_in_reward"]
    search_fields = ["text", "campaign__name", "campaign__slug"]
    list_select_related = ["campaign", "offer"]
    raw_id_fields = ["campaign", "offer"]
