"""Gateway webhooks (mounted at /webhooks/ by config/urls.py)."""

from django.urls import path

from . import webhook_views

urlpatterns: list = [
    path("stripe/", webhook_views.stripe_webhook, name="webhook-stripe"),
]
