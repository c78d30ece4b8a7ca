"""Back-office URLs of orders (mounted under /app/ by orders/urls.py): the order
list, one order's page and actions, the review queue and its rules, tags and segments."""

from django.urls import path

from . import order_views as views
from . import review_rule_views

ORDERS = "c/<slug:slug>/orders/"
ORDER = f"{ORDERS}<int:number>/"

urlpatterns: list = [
    path(ORDERS, views.order_list, name="order-list"),
    path(f"{ORDERS}tag/", views.order_bulk_tag, name="order-bulk-tag"),
    path(f"{ORDERS}review/", views.review_queue_page, name="order-review"),
    path(f"{ORDERS}review/bulk/", views.review_bulk, name="order-review-bulk"),
    path(
        f"{ORDERS}review/rules/",
        review_rule_views.review_rules_page,
        name="order-review-rules",
    ),
    path(
        f"{ORDERS}review/rules/recheck/",
        review_rule_views.review_rules_recheck,
        name="order-review-rules-recheck",
    ),
    path(f"{ORDERS}tags/", views.tag_list, name="order-tags"),
    path(f"{ORDERS}tags/<int:tag_id>/", views.tag_edit, name="order-tag-edit"),
    path(f"{ORDERS}tags/<int:tag_id>/delete/", views.tag_delete, name="order-tag-delete"),
    path(f"{ORDERS}segments/", views.segment_list, name="order-segments"),
    path(f"{ORDERS}segments/new/", views.segment_create, name="order-segment-create"),
    path(
        f"{ORDERS}segments/<int:segment_id>/delete/",
        views.segment_delete,
        name="order-segment-delete",
    ),
    path(ORDER, views.order_detail, name="order-detail"),
    path(f"{ORDER}holds/<int:hold_id>/clear/", views.order_hold_clear, name="order-hold-clear"),
    path(f"{ORDER}address/accept/", views.order_address_accept, name="order-address-accept"),
    path(f"{ORDER}unlock/", views.order_unlock, name="order-unlock"),
    path(f"{ORDER}merge/", views.order_merge, name="order-merge"),
]
