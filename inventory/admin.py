from django.contrib import admin

from .models import Sku, SkuImport


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "organization",
        "weight_g",
        "hs_code",
        "country_of_origin",
        "customs_value",
        "is_digital",
    ]
    list_filter = ["is_digital", "organization", "country_of_origin"]
    search_fields = ["code", "name", "barcode", "hs_code"]
    list_select_related = ["organization"]


@admin.register(SkuImport)
class SkuImportAdmin(admin.ModelAdmin):
    """Imports are records of what a file did: looked at, never edited here."""

    list_display = ["pk", "original_name", "organization", "campaign", "state", "created_at"]
    list_filter = ["state"]
    search_fields = ["original_name", "file_hash"]
    list_select_related = ["organization", "campaign"]
    exclude = ["data"]
    readonly_fields = [
        "organization",
        "campaign",
        "created_by",
        "created_at",
        "applied_at",
        "original_name",
        "file_hash",
        "state",
        "counts",
        "samples",
        "problems",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
