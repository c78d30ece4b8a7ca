"""The review queue: open holds grouped by reason with counts, filters, and the bulk
actions (clear with a note, email the backers to fix, add a tag)."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import strip_tags

from accounts.models import Role
from orders.errors import HoldCauseRemains
from orders.models import AddressStatus, HoldReason, OrderHold, OrderState, Tag
from orders.selectors import hold_counts
from orders.services.addresses import send_fix_address_email, validate_addresses
from orders.services.holds import clear_hold
from tests.factories import (
    CampaignFactory,
    OrderLineFactory,
    SkuFactory,
    SurveyFactory,
    SurveyInviteFactory,
)

from .conftest_pages import address_of, client_as, hold_on, order_in

pytestmark = pytest.mark.django_db


def _queue(client, campaign, **params):
    return client.get(reverse("order-review", args=[campaign.slug]), params)


def _bulk(client, campaign, holds, **data):
    return client.post(
        reverse("order-review-bulk", args=[campaign.slug]),
        {"holds": [hold.pk for hold in holds], **data},
    )


def _invited_order(campaign, **fields):
    """An order whose backer has a survey invite (a magic link to send)."""
    order = order_in(campaign, **fields)
    SurveyInviteFactory(survey=SurveyFactory(campaign=campaign), backer=order.backer)
    return order


def test_hold_counts_count_open_holds_per_reason(campaign):
    for _ in range(2):
        hold_on(order_in(campaign), HoldReason.ADDRESS_INVALID)
    hold_on(order_in(campaign), HoldReason.PAYMENT_DUE)
    counts = {row["reason"]: row["count"] for row in hold_counts(campaign=campaign)}
    assert counts["address_invalid"] == 2
    assert counts["payment_due"] == 1
    assert counts["manual_review"] == 0


def test_hold_counts_leave_out_cleared_holds_and_other_campaigns(campaign):
    hold = hold_on(order_in(campaign), HoldReason.MANUAL_REVIEW)
    OrderHold.objects.filter(pk=hold.pk).update(cleared_at=hold.opened_at)
    hold_on(order_in(CampaignFactory()), HoldReason.MANUAL_REVIEW)
    counts = {row["reason"]: row["count"] for row in hold_counts(campaign=campaign)}
    assert counts["manual_review"] == 0


def test_queue_groups_holds_by_reason_with_counts(owner_client, campaign):
    hold_on(order_in(campaign, name="Ada Address"), HoldReason.ADDRESS_INVALID)
    hold_on(order_in(campaign, name="Pat Payment"), HoldReason.PAYMENT_DUE)
    response = _queue(owner_client, campaign)
    text = " ".join(strip_tags(response.content.decode()).split())
    assert response.context["total"] == 2
    assert "Ada Address" in text and "Pat Payment" in text
    assert text.index("Address invalid (1 on this page)") < text.index("Payment due (1 on")


def test_queue_filters_by_reason(owner_client, campaign):
    wanted = hold_on(order_in(campaign), HoldReason.PAYMENT_FAILED)
    hold_on(order_in(campaign), HoldReason.ADDRESS_INVALID)
    response = _queue(owner_client, campaign, reason="payment_failed")
    assert [hold.pk for hold in response.context["holds"]] == [wanted.pk]


def test_queue_filters_by_country(owner_client, campaign):
    wanted = hold_on(order_in(campaign, country="JP"), HoldReason.ADDRESS_INVALID)
    hold_on(order_in(campaign, country="SE"), HoldReason.ADDRESS_INVALID)
    response = _queue(owner_client, campaign, country="JP")
    assert [hold.pk for hold in response.context["holds"]] == [wanted.pk]
    assert response.context["total"] == 1


def test_queue_query_count_does_not_grow_with_the_holds(
    owner_client, campaign, django_assert_max_num_queries
):
    for _ in range(10):
        order = order_in(campaign)
        address_of(order, problems={"postal_code": "invalid"})
        hold_on(order, HoldReason.ADDRESS_INVALID)
    with django_assert_max_num_queries(8):
        response = _queue(owner_client, campaign)
    assert len(response.context["holds"]) == 10


def test_bulk_clear_with_a_note_makes_the_orders_ready(owner_client, campaign):
    holds = [hold_on(order_in(campaign), HoldReason.MANUAL_REVIEW) for _ in range(2)]
    response = _bulk(owner_client, campaign, holds, action="clear", note="Checked by hand")
    assert response.status_code == 302
    for hold in holds:
        hold.refresh_from_db()
        assert hold.clear_note == "Checked by hand"
        hold.order.refresh_from_db()
        assert hold.order.state == OrderState.READY


def test_bulk_clear_without_a_note_clears_nothing(owner_client, campaign):
    hold = hold_on(order_in(campaign), HoldReason.MANUAL_REVIEW)
    _bulk(owner_client, campaign, [hold], action="clear", note=" ")
    hold.refresh_from_db()
    assert hold.is_open


def test_bulk_clear_ignores_another_campaigns_holds(owner_client, campaign):
    foreign = hold_on(order_in(CampaignFactory()), HoldReason.MANUAL_REVIEW)
    _bulk(owner_client, campaign, [foreign], action="clear", note="sneaky")
    foreign.refresh_from_db()
    assert foreign.is_open


def test_bulk_email_asks_address_holds_to_fix_the_address(owner_client, campaign):
    order = _invited_order(campaign, email="fixme@example.org")
    address_of(order, problems={"postal_code": "invalid"})
    hold = hold_on(order, HoldReason.ADDRESS_INVALID)
    _bulk(owner_client, campaign, [hold], action="email")
    assert [message.to for message in mail.outbox] == [["fixme@example.org"]]
    assert "/s/" in mail.outbox[0].body


def test_bulk_email_sends_payment_holds_a_pay_link(owner_client, campaign):
    order = _invited_order(campaign, email="payme@example.org")
    hold = hold_on(order, HoldReason.PAYMENT_DUE)
    _bulk(owner_client, campaign, [hold], action="email")
    assert [message.to for message in mail.outbox] == [["payme@example.org"]]
    message = mail.outbox[0]
    assert "/pay/" in message.body
    # Nothing was charged: the mail says the balance is due, never that a charge failed.
    assert "is due" in message.subject and "left to pay" in message.body
    assert "failed" not in message.subject + message.body


def test_bulk_email_tells_a_failed_payment_hold_that_the_charge_failed(owner_client, campaign):
    order = _invited_order(campaign, email="declined@example.org")
    hold = hold_on(order, HoldReason.PAYMENT_FAILED)
    _bulk(owner_client, campaign, [hold], action="email")
    message = mail.outbox[0]
    assert "failed" in message.subject and "the payment failed" in message.body


def test_bulk_email_skips_reasons_with_nothing_to_ask(owner_client, campaign):
    hold = hold_on(_invited_order(campaign), HoldReason.MANUAL_REVIEW)
    _bulk(owner_client, campaign, [hold], action="email")
    assert mail.outbox == []


def test_bulk_tag_tags_the_orders_of_the_holds(owner_client, campaign):
    hold = hold_on(order_in(campaign), HoldReason.DUPLICATE_BACKER)
    _bulk(owner_client, campaign, [hold], action="tag", tag="Check twins")
    tag = Tag.objects.get(campaign=campaign, name="Check twins")
    assert list(tag.orders.all()) == [hold.order]


def test_row_accept_as_is_clears_the_address_hold(owner_client, campaign):
    order = order_in(campaign)
    address_of(order, problems={"city": "unknown"})
    hold_on(order, HoldReason.ADDRESS_INVALID)
    response = owner_client.post(
        reverse("order-address-accept", args=[campaign.slug, order.number]),
        {"reason": "Village is right", "next": reverse("order-review", args=[campaign.slug])},
    )
    assert response["Location"] == reverse("order-review", args=[campaign.slug])
    order.refresh_from_db()
    assert (order.address_status, order.state) == (AddressStatus.ACCEPTED, OrderState.READY)


def test_warehouse_sees_the_queue_but_cannot_act(client, organization, campaign):
    client_as(client, organization, Role.WAREHOUSE)
    hold = hold_on(order_in(campaign), HoldReason.MANUAL_REVIEW)
    assert _queue(client, campaign).status_code == 200
    assert _bulk(client, campaign, [hold], action="clear", note="x").status_code == 403
    hold.refresh_from_db()
    assert hold.is_open


def test_other_organization_gets_404_for_the_queue(outsider_client, campaign):
    assert _queue(outsider_client, campaign).status_code == 404


# --- clearing an address hold accepts the address; emailing asks again --------------


def _bad_address_hold(campaign, **fields):
    order = _invited_order(campaign, **fields)
    address_of(order, postal_code="ABC", problems={"postal_code": "invalid"})
    return hold_on(order, HoldReason.ADDRESS_INVALID)


def test_bulk_clear_of_an_address_hold_accepts_the_address_with_the_note(
    client, organization, campaign
):
    user = client_as(client, organization, Role.MANAGER)
    hold = _bad_address_hold(campaign)
    _bulk(client, campaign, [hold], action="clear", note="Rural route, carrier knows it")
    address = hold.order.address
    address.refresh_from_db()
    assert (address.status, address.accepted_by, address.accept_reason) == (
        AddressStatus.ACCEPTED,
        user,
        "Rural route, carrier knows it",
    )


def test_bulk_clear_of_an_address_hold_makes_the_order_ready(owner_client, campaign):
    hold = _bad_address_hold(campaign)
    _bulk(owner_client, campaign, [hold], action="clear", note="Checked with the backer")
    hold.refresh_from_db()
    hold.order.refresh_from_db()
    assert hold.clear_note == "Checked with the backer"
    assert (hold.order.address_status, hold.order.state) == (
        AddressStatus.ACCEPTED,
        OrderState.READY,
    )


def test_an_address_cleared_from_the_queue_stays_accepted_when_all_addresses_are_checked(
    owner_client, campaign
):
    hold = _bad_address_hold(campaign)
    _bulk(owner_client, campaign, [hold], action="clear", note="Right as it is")
    validate_addresses(campaign=campaign, recheck=True, send_emails=False)
    order = hold.order
    order.refresh_from_db()
    assert (order.address_status, order.state) == (AddressStatus.ACCEPTED, OrderState.READY)
    assert not order.holds.filter(cleared_at__isnull=True).exists()


def test_bulk_email_asks_again_about_an_address_version_already_asked_about(owner_client, campaign):
    hold = _bad_address_hold(campaign, email="again@example.org")
    _bulk(owner_client, campaign, [hold], action="email")
    _bulk(owner_client, campaign, [hold], action="email")
    assert [message.to for message in mail.outbox] == [["again@example.org"]] * 2


def test_the_automatic_fix_email_still_goes_once_per_address_version(campaign):
    hold = _bad_address_hold(campaign)
    order = hold.order
    sent = [send_fix_address_email(order=order, address=order.address) for _ in range(2)]
    assert (sent, len(mail.outbox)) == ([True, False], 1)


def test_a_missing_choice_hold_stays_while_a_line_has_no_sku(owner_client, campaign):
    """Clearing it would send the warehouse a line it cannot pick: bulk clear leaves
    it (and says so), the order page refuses; once the line has a SKU it clears."""
    order = order_in(campaign)
    line = OrderLineFactory(
        order=order, sku=None, sku_code="", description="Extra dice", source="addon_unmapped"
    )
    hold = hold_on(order, HoldReason.MISSING_CHOICE)
    other = hold_on(order_in(campaign), HoldReason.MANUAL_REVIEW)
    response = _bulk(owner_client, campaign, [hold, other], action="clear", note="ship later")
    page = strip_tags(owner_client.get(response["Location"]).content.decode())
    assert "1 hold(s) cleared. 1 left open: an order still has a line without a SKU" in page
    hold.refresh_from_db()
    assert hold.is_open
    with pytest.raises(HoldCauseRemains, match="line without a SKU"):
        clear_hold(hold=hold, note="ship later")
    line.sku = SkuFactory(organization=campaign.organization)
    line.save()
    clear_hold(hold=hold, note="mapped by hand")
    hold.refresh_from_db()
    assert not hold.is_open
