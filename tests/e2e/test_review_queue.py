"""Staff work the review queue in a real browser: an order held for its address is
accepted as it is, with a reason, and becomes ready."""

import pytest

from accounts.models import Role
from orders.models import AddressStatus, HoldReason, Order, OrderState
from tests.factories import TEST_PASSWORD, CampaignFactory, MembershipFactory
from tests.orders.conftest_pages import address_of, hold_on, order_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held_order(transactional_db):
    membership = MembershipFactory(role=Role.MANAGER, user__email="manager@example.org")
    campaign = CampaignFactory(organization=membership.organization, name="Sky Captains")
    order = order_in(campaign, name="Ines Island", country="ES")
    address_of(order, problems={"postal_code": "invalid"}, postal_code="E-999")
    hold_on(order, HoldReason.ADDRESS_INVALID, detail="postal_code")
    return order


def test_staff_accept_an_address_as_is_from_the_review_queue(page, live_server, held_order):
    campaign = held_order.campaign
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "manager@example.org")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/app/c/{campaign.slug}/orders/review/")

    assert page.locator("#count-address_invalid .kpi-value").inner_text() == "1"
    row = page.locator("tr.hold-address_invalid", has_text="Ines Island")
    assert "postal_code" in row.inner_text()
    row.get_by_placeholder("Reason").fill("Canary Islands code, checked with the carrier")
    row.get_by_role("button", name="Accept as is").click()

    assert "accepted as it is" in page.locator(".msg.success").inner_text()
    assert page.locator("#count-address_invalid .kpi-value").inner_text() == "0"
    assert page.locator("tr.hold-address_invalid").count() == 0
    order = Order.objects.get(pk=held_order.pk)
    assert (order.state, order.address_status) == (OrderState.READY, AddressStatus.ACCEPTED)
    assert order.address.accept_reason == "Canary Islands code, checked with the carrier"
