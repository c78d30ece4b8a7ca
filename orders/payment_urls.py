"""Back-office URLs (mounted under /app/ by orders/urls.py)."""

from django.urls import path

from . import payment_views

ORDERS = "c/<slug:slug>/orders/"

urlpatterns: list = [
    path(f"{ORDERS}payments/", payment_views.payment_list, name="payment-list"),
    path(f"{ORDERS}payments/settings/", payment_views.payment_settings, name="payment-settings"),
    path(f"{ORDERS}<int:number>/payments/", payment_views.order_payments, name="order-payments"),
    path(
        f"{ORDERS}<int:number>/payments/<int:payment_id>/refund/",
        payment_views.payment_refund,
        name="payment-refund",
    ),
]
