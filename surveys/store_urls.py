"""Late-pledge store URLs, relative to the survey root (included by
surveys/backer_urls.py, so they exist under /s/<slug>/ and on a campaign's own
host name)."""

from django.urls import path

from . import store_views

urlpatterns = [
    path("store/", store_views.store, name="survey-store"),
    path("store/<int:reward_id>/", store_views.store_reward, name="survey-store-reward"),
]
