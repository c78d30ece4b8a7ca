"""Order list, order page, review queue, tags and segments URLs for the tenancy test
(tests/accounts/test_tenancy.py)."""

from orders.models import HoldReason, Segment, Tag

from .conftest_pages import hold_on, order_in


def _slug(o):
    return {"slug": o["campaign"].slug}


def _order(o):
    return {"slug": o["campaign"].slug, "number": o["order"].number}


URLS = {
    "order-list": _slug,
    "order-bulk-tag": _slug,
    "order-review": _slug,
    "order-review-bulk": _slug,
    "order-tags": _slug,
    "order-tag-edit": lambda o: {"slug": o["campaign"].slug, "tag_id": o["tag"].pk},
    "order-tag-delete": lambda o: {"slug": o["campaign"].slug, "tag_id": o["tag"].pk},
    "order-segments": _slug,
    "order-segment-create": _slug,
    "order-segment-delete": lambda o: {"slug": o["campaign"].slug, "segment_id": o["segment"].pk},
    "order-detail": _order,
    "order-hold-clear": lambda o: {**_order(o), "hold_id": o["hold"].pk},
    "order-address-accept": _order,
    "order-unlock": _order,
    "order-merge": _order,
}


def build(victim: dict) -> dict:
    campaign = victim["campaign"]
    order = order_in(campaign)
    return {
        "order": order,
        "hold": hold_on(order, HoldReason.MANUAL_REVIEW),
        "tag": Tag.objects.create(campaign=campaign, name="VIP"),
        "segment": Segment.objects.create(campaign=campaign, name="EU", filters={"country": "DE"}),
    }
