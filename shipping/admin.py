from django.contrib import admin

from .models import RateCard, RateCardRow, ShippingProfile, ShippingZone, WeightBand


@admin.register(ShippingProfile)
class ShippingProfileAdmin(admin.ModelAdmin):
    list_display = ("campaign", "method", "use_volumetric", "credit_platform_shipping")
    list_select_related = ("campaign",)


class WeightBandInline(admin.TabularInline):
    model = WeightBand
    extra = 0


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin):
    list_display = ("name", "campaign", "is_rest_of_world", "position")
    list_select_related = ("campaign",)
    inlines = [WeightBandInline]


class RateCardRowInline(admin.TabularInline):
    model = RateCardRow
    extra = 0
    raw_id_fields = ("zone",)


@admin.register(RateCard)
class RateCardAdmin(admin.ModelAdmin):
    list_display = ("name", "campaign", "currency", "created_at")
    list_select_related = ("campaign",)
    inlines = [RateCardRowInline]
