"""Tags: create, rename, delete; tag and untag orders in bulk (set-based, one
timeline entry per order that changed); the tags page."""

import pytest
from django.urls import reverse

from accounts.models import Role
from orders.errors_pages import TagNameRequired, TagNameTaken
from orders.models import EventKind, OrderEvent, Tag
from orders.services.tags import (
    create_tag,
    delete_tag,
    rename_tag,
    tag_by_name,
    tag_orders,
    untag_orders,
)
from tests.factories import CampaignFactory, UserFactory

from .conftest_pages import client_as, order_in

pytestmark = pytest.mark.django_db


def test_create_tag_trims_the_name(campaign):
    tag = create_tag(campaign=campaign, name="  EU   pilot ")
    assert tag.name == "EU pilot"


def test_a_tag_name_is_unique_per_campaign_ignoring_case(campaign):
    create_tag(campaign=campaign, name="VIP")
    with pytest.raises(TagNameTaken):
        create_tag(campaign=campaign, name="vip")


def test_the_same_tag_name_may_exist_in_another_campaign(campaign):
    create_tag(campaign=campaign, name="VIP")
    assert create_tag(campaign=CampaignFactory(), name="VIP").pk


def test_an_empty_tag_name_is_refused(campaign):
    with pytest.raises(TagNameRequired):
        create_tag(campaign=campaign, name="   ")


def test_tag_by_name_reuses_an_existing_tag(campaign):
    tag = create_tag(campaign=campaign, name="VIP")
    assert tag_by_name(campaign=campaign, name="vip") == tag


def test_rename_refuses_another_tags_name(campaign):
    create_tag(campaign=campaign, name="VIP")
    other = create_tag(campaign=campaign, name="EU")
    with pytest.raises(TagNameTaken):
        rename_tag(tag=other, name="VIP")


def test_tag_orders_writes_one_event_per_order_that_changed(campaign):
    tag = create_tag(campaign=campaign, name="VIP")
    already, new = order_in(campaign), order_in(campaign)
    tag_orders(tag=tag, order_ids=[already.pk])
    actor = UserFactory()
    added = tag_orders(tag=tag, order_ids=[already.pk, new.pk], actor=actor)
    assert added == 1
    assert set(tag.orders.all()) == {already, new}
    event = OrderEvent.objects.get(order=new, kind=EventKind.TAG)
    assert (event.actor, event.after) == (actor, {"added": "VIP"})
    assert OrderEvent.objects.filter(order=already, kind=EventKind.TAG).count() == 1


def test_tag_orders_ignores_orders_of_another_campaign(campaign):
    tag = create_tag(campaign=campaign, name="VIP")
    foreign = order_in(CampaignFactory())
    assert tag_orders(tag=tag, order_ids=[foreign.pk]) == 0
    assert not foreign.tags.exists()


def test_tag_orders_runs_a_fixed_number_of_queries(campaign, django_assert_num_queries):
    tag = create_tag(campaign=campaign, name="VIP")
    ids = [order_in(campaign).pk for _ in range(20)]
    with django_assert_num_queries(6):  # savepoint, 2 reads, insert, events, release
        assert tag_orders(tag=tag, order_ids=ids) == 20


def test_untag_orders_removes_the_tag_and_logs_it(campaign):
    tag = create_tag(campaign=campaign, name="VIP")
    order = order_in(campaign)
    tag_orders(tag=tag, order_ids=[order.pk])
    assert untag_orders(tag=tag, order_ids=[order.pk]) == 1
    assert not order.tags.exists()
    assert OrderEvent.objects.filter(order=order, before={"removed": "VIP"}).exists()


def test_delete_tag_logs_it_on_each_tagged_order(campaign):
    tag = create_tag(campaign=campaign, name="VIP")
    order = order_in(campaign)
    tag_orders(tag=tag, order_ids=[order.pk])
    assert delete_tag(tag=tag) == 1
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert OrderEvent.objects.filter(order=order, before={"tag": "VIP"}).exists()


def test_tags_page_lists_tags_with_their_order_counts(owner_client, campaign):
    tag = create_tag(campaign=campaign, name="VIP")
    tag_orders(tag=tag, order_ids=[order_in(campaign).pk, order_in(campaign).pk])
    response = owner_client.get(reverse("order-tags", args=[campaign.slug]))
    assert response.context["tags"][0].order_count == 2
    assert f"?tags={tag.pk}" in response.content.decode()


def test_tags_page_creates_a_tag(owner_client, campaign):
    response = owner_client.post(
        reverse("order-tags", args=[campaign.slug]), {"name": "Pilot", "colour": "#ff0000"}
    )
    assert response.status_code == 302
    assert Tag.objects.get(campaign=campaign).colour == "#ff0000"


def test_tags_page_shows_a_taken_name_next_to_the_field(owner_client, campaign):
    create_tag(campaign=campaign, name="Pilot")
    response = owner_client.post(
        reverse("order-tags", args=[campaign.slug]), {"name": "pilot", "colour": "#ff0000"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["name"]


def test_tags_page_renames_a_tag(owner_client, campaign):
    tag = create_tag(campaign=campaign, name="Pilot")
    owner_client.post(
        reverse("order-tag-edit", args=[campaign.slug, tag.pk]),
        {"name": "Pilot batch", "colour": "#00ff00"},
    )
    tag.refresh_from_db()
    assert (tag.name, tag.colour) == ("Pilot batch", "#00ff00")


def test_tags_page_deletes_a_tag(owner_client, campaign):
    tag = create_tag(campaign=campaign, name="Pilot")
    owner_client.post(reverse("order-tag-delete", args=[campaign.slug, tag.pk]))
    assert not Tag.objects.exists()


def test_another_campaigns_tag_cannot_be_deleted(owner_client, campaign):
    foreign = create_tag(campaign=CampaignFactory(), name="Pilot")
    response = owner_client.post(reverse("order-tag-delete", args=[campaign.slug, foreign.pk]))
    assert response.status_code == 404
    assert Tag.objects.filter(pk=foreign.pk).exists()


def test_warehouse_may_see_tags_but_not_create_them(client, organization, campaign):
    client_as(client, organization, Role.WAREHOUSE)
    url = reverse("order-tags", args=[campaign.slug])
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "Pilot", "colour": "#ff0000"}).status_code == 403
