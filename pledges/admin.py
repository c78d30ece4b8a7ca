from django.contrib import admin

from .models import Backer, Campaign, Pledge, Reward


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "organization", "platform", "currency", "closed_on"]
    list_filter = ["platform"]
    search_fields = ["name", "slug"]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["title", "campaign", "minimum", "backer_count"]
    list_filter = ["campaign"]


@admin.register(Backer)
class BackerAdmin(admin.ModelAdmin):
    list_display = ["backer_number", "name", "email", "campaign", "platform", "source"]
    list_filter = ["platform", "source"]
    search_fields = ["name", "email", "platform_backer_id"]


@admin.register(Pledge)
class PledgeAdmin(admin.ModelAdmin):
    list_display = ["backer", "reward", "amount", "payment_status", "shipping_country"]
    list_filter = ["payment_status"]
    raw_id_fields = ["backer"]
