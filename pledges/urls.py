from django.urls import path

from . import views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("campaigns/new/", views.campaign_create, name="campaign-create"),
    path("c/<slug:slug>/", views.campaign_overview, name="campaign-overview"),
    path("c/<slug:slug>/settings/", views.campaign_settings, name="campaign-settings"),
]
