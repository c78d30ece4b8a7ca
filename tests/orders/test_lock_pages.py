"""The lock page: counts and reasons, dry-run preview of a segment, lock now only
after confirming; orders.lock needed, other organizations get 404."""

import pytest
from django.urls import reverse

from accounts.models import Role
from orders.models import HoldReason, OrderEvent, OrderState, Segment
from orders.services.holds import open_hold
from tests.conftest import member
from tests.factories import OrderFactory, PledgeFactory

pytestmark = pytest.mark.django_db
S = OrderState


def order_in(campaign, *, state=S.READY, **fields):
    backer = PledgeFactory(backer__campaign=campaign).backer
    return OrderFactory(backer=backer, campaign=campaign, state=state, **fields)


def url(campaign):
    return reverse("order-lock", args=[campaign.slug])


def test_page_shows_ready_and_not_ready_by_reason(owner_client, campaign):
    order_in(campaign)
    held = order_in(campaign, state=S.SUBMITTED)
    open_hold(order=held, reason=HoldReason.PAYMENT_DUE)
    response = owner_client.get(url(campaign))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Payment due" in text
    assert response.context["campaign_preview"].ready == 1


def test_preview_of_a_segment_changes_nothing(owner_client, campaign):
    de = order_in(campaign, country="DE")
    order_in(campaign, country="SE")
    segment = Segment.objects.create(campaign=campaign, name="Germany", filters={"country": "DE"})
    response = owner_client.get(url(campaign), {"segment": segment.pk})
    assert response.context["preview"].ready == 1
    assert "Dry run" in response.content.decode()
    de.refresh_from_db()
    assert de.state == S.READY


def test_lock_now_needs_the_confirmation(owner_client, campaign):
    order = order_in(campaign)
    response = owner_client.post(url(campaign), {"segment": ""})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.state == S.READY


def test_lock_now_locks_the_segment_and_names_the_user(owner_client, owner, campaign):
    de = order_in(campaign, country="DE")
    se = order_in(campaign, country="SE")
    segment = Segment.objects.create(campaign=campaign, name="Germany", filters={"country": "DE"})
    response = owner_client.post(url(campaign), {"segment": segment.pk, "confirm": "on"})
    assert response.status_code == 302
    de.refresh_from_db()
    se.refresh_from_db()
    assert (de.state, se.state) == (S.LOCKED, S.READY)
    assert OrderEvent.objects.get(order=de).actor == owner


def test_lock_now_reports_the_count(owner_client, campaign):
    order_in(campaign)
    response = owner_client.post(url(campaign), {"confirm": "on"}, follow=True)
    assert "1 order locked" in response.content.decode()


def test_segment_of_another_campaign_is_refused(owner_client, campaign):
    order = order_in(campaign)
    other = order_in(PledgeFactory().backer.campaign)
    foreign = Segment.objects.create(campaign=other.campaign, name="x", filters={})
    response = owner_client.post(url(campaign), {"segment": foreign.pk, "confirm": "on"})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.state == S.READY


def test_support_role_gets_403(client, organization, campaign):
    client.force_login(member(organization, Role.SUPPORT))
    assert client.get(url(campaign)).status_code == 403


def test_warehouse_role_cannot_lock(client, organization, campaign):
    order = order_in(campaign)
    client.force_login(member(organization, Role.WAREHOUSE))
    assert client.post(url(campaign), {"confirm": "on"}).status_code == 403
    order.refresh_from_db()
    assert order.state == S.READY


def test_other_organization_gets_404(outsider_client, campaign):
    order = order_in(campaign)
    assert outsider_client.post(url(campaign), {"confirm": "on"}).status_code == 404
    order.refresh_from_db()
    assert order.state == S.READY
