"""Segments: saved filters over the orders, saved from the list, opened from the
list's picker or the segments page."""

import pytest
from django.urls import reverse

from accounts.models import Role
from orders.errors_pages import SegmentInvalid
from orders.models import OrderState, Segment
from orders.selectors import orders_for
from orders.services.segments import delete_segment, save_segment
from orders.services.tags import create_tag
from tests.factories import CampaignFactory

from .conftest_pages import client_as, order_in

pytestmark = pytest.mark.django_db


def test_save_segment_keeps_only_known_non_empty_filters(campaign):
    segment = save_segment(
        campaign=campaign,
        name="EU pilot",
        filters={"country": "DE", "state": ["ready"], "hold": "", "bogus": "x"},
    )
    assert segment.filters == {"country": "DE", "state": ["ready"]}


def test_saving_the_same_name_again_replaces_the_filters(campaign):
    save_segment(campaign=campaign, name="EU", filters={"country": "DE"})
    segment = save_segment(campaign=campaign, name="eu", filters={"country": "FR"})
    assert Segment.objects.filter(campaign=campaign).count() == 1
    assert segment.filters == {"country": "FR"}


def test_a_segment_needs_a_name_and_a_filter(campaign):
    with pytest.raises(SegmentInvalid):
        save_segment(campaign=campaign, name=" ", filters={"country": "DE"})
    with pytest.raises(SegmentInvalid):
        save_segment(campaign=campaign, name="All", filters={})


def test_a_segments_filters_select_its_orders(campaign):
    ready_de = order_in(campaign, country="DE", state=OrderState.READY)
    order_in(campaign, country="DE", state=OrderState.SUBMITTED)
    segment = save_segment(
        campaign=campaign, name="DE ready", filters={"country": "DE", "state": ["ready"]}
    )
    assert list(orders_for(campaign=campaign, filters=segment.filters)) == [ready_de]


def test_delete_segment_removes_it(campaign):
    segment = save_segment(campaign=campaign, name="EU", filters={"country": "DE"})
    delete_segment(segment=segment)
    assert not Segment.objects.exists()


def test_list_saves_its_current_filters_as_a_segment(owner_client, campaign, owner):
    tag = create_tag(campaign=campaign, name="VIP")
    response = owner_client.post(
        reverse("order-segment-create", args=[campaign.slug]),
        {"name": "VIP Germany", "country": "DE", "tags": [tag.pk]},
    )
    segment = Segment.objects.get(campaign=campaign)
    assert segment.filters == {"country": "DE", "tags": [str(tag.pk)]}
    assert segment.created_by == owner
    assert response["Location"].endswith(f"?country=DE&tags={tag.pk}")


def test_list_offers_save_as_segment_only_when_filtered(owner_client, campaign):
    url = reverse("order-list", args=[campaign.slug])
    assert "Save as segment" not in owner_client.get(url).content.decode()
    assert "Save as segment" in owner_client.get(url, {"country": "DE"}).content.decode()


def test_segments_page_lists_each_segment_with_its_filters_and_link(owner_client, campaign):
    save_segment(
        campaign=campaign, name="EU pilot", filters={"country": "DE", "hold": "payment_due"}
    )
    html = owner_client.get(reverse("order-segments", args=[campaign.slug])).content.decode()
    assert "EU pilot" in html
    assert "open hold: Payment due" in html
    assert "?country=DE&amp;hold=payment_due" in html


def test_another_campaigns_segment_does_not_open(owner_client, campaign):
    foreign = save_segment(campaign=CampaignFactory(), name="X", filters={"country": "DE"})
    response = owner_client.get(
        reverse("order-list", args=[campaign.slug]), {"segment": foreign.pk}
    )
    assert response.status_code == 404


def test_another_campaigns_segment_cannot_be_deleted(owner_client, campaign):
    foreign = save_segment(campaign=CampaignFactory(), name="X", filters={"country": "DE"})
    url = reverse("order-segment-delete", args=[campaign.slug, foreign.pk])
    assert owner_client.post(url).status_code == 404
    assert Segment.objects.filter(pk=foreign.pk).exists()


def test_warehouse_may_not_save_a_segment(client, organization, campaign):
    client_as(client, organization, Role.WAREHOUSE)
    response = client.post(
        reverse("order-segment-create", args=[campaign.slug]), {"name": "X", "country": "DE"}
    )
    assert response.status_code == 403
    assert not Segment.objects.exists()


def test_saving_under_a_name_in_use_says_the_segment_was_replaced(owner_client, campaign):
    url = reverse("order-segment-create", args=[campaign.slug])
    owner_client.post(url, {"name": "Mat buyers", "country": "DE"})
    response = owner_client.post(url, {"name": "mat buyers", "country": "US"}, follow=True)
    page = response.content.decode()
    assert "existed: its filters were replaced" in page
    assert Segment.objects.get(campaign=campaign).filters == {"country": "US"}
    response = owner_client.post(url, {"name": "Mat buyers", "country": "US"}, follow=True)
    assert "Segment “Mat buyers” saved." in response.content.decode()
