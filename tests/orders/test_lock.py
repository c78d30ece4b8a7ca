"""Locking: only ready orders lock (set-based, each with a state event and its survey
response read-only), staff unlock one order with a reason, backers get one notice
before the lock date, the beat job locks campaigns whose date has passed."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from orders.errors import ReasonRequired
from orders.errors_lock import OrderNotLocked
from orders.models import (
    AddressStatus,
    EventKind,
    Gateway,
    HoldReason,
    OrderAddress,
    OrderEvent,
    OrderState,
    Payment,
    PaymentKind,
    PaymentStatus,
    ReviewRules,
    Segment,
)
from orders.services.holds import open_hold
from orders.services.locking import (
    lock_orders,
    lock_preview,
    run_due_locks,
    send_lock_notices,
    unlock_order,
)
from surveys.models import SurveyResponse
from tests.factories import (
    CampaignFactory,
    OrderFactory,
    PledgeFactory,
    SurveyFactory,
    SurveyInviteFactory,
    UserFactory,
)

from .conftest_payments import order_due, use_gateway

pytestmark = pytest.mark.django_db
S = OrderState


def order_in(campaign, *, state=S.READY, invite=False, **fields):
    """An order of a new backer of `campaign`; with `invite`, the backer also has a
    survey invite and a response linked to the order."""
    backer = PledgeFactory(backer__campaign=campaign).backer
    order = OrderFactory(backer=backer, campaign=campaign, state=state, **fields)
    if invite:
        survey = SurveyFactory(campaign=campaign)
        link = SurveyInviteFactory(survey=survey, backer=backer)
        order.response = SurveyResponse.objects.create(
            invite=link, backer=backer, language=order.language
        )
        order.save(update_fields=["response"])
    return order


def test_lock_locks_ready_orders_only():
    campaign = CampaignFactory()
    ready = order_in(campaign)
    submitted = order_in(campaign, state=S.SUBMITTED)
    draft = order_in(campaign, state=S.DRAFT)
    result = lock_orders(campaign=campaign)
    assert result.locked == 1
    states = {o.pk: o.state for o in campaign.orders.all()}
    assert states == {ready.pk: S.LOCKED, submitted.pk: S.SUBMITTED, draft.pk: S.DRAFT}


def test_lock_sets_locked_at_and_writes_the_state_event_change_state_would():
    campaign = CampaignFactory()
    order = order_in(campaign)
    user = UserFactory()
    lock_orders(campaign=campaign, actor=user)
    order.refresh_from_db()
    assert order.locked_at is not None and order.state_changed_at == order.locked_at
    event = OrderEvent.objects.get(order=order, kind=EventKind.STATE)
    assert (event.before, event.after, event.actor) == (
        {"state": "ready"},
        {"state": "locked"},
        user,
    )


def test_lock_makes_the_survey_response_read_only():
    campaign = CampaignFactory()
    order = order_in(campaign, invite=True)
    lock_orders(campaign=campaign)
    order.response.refresh_from_db()
    assert order.response.locked_at is not None


def test_lock_counts_the_orders_it_leaves_by_reason():
    campaign = CampaignFactory()
    order_in(campaign)
    held = order_in(campaign, state=S.SUBMITTED)
    open_hold(order=held, reason=HoldReason.ADDRESS_INVALID)
    order_in(campaign, state=S.DRAFT)
    order_in(campaign, state=S.CANCELLED)
    result = lock_orders(campaign=campaign)
    counts = {row.key: row.count for row in result.not_ready}
    assert counts == {"draft": 1, "address_invalid": 1, "cancelled": 1}
    assert result.not_ready_orders == 3


def test_lock_leaves_other_campaigns_alone():
    campaign = CampaignFactory()
    other = order_in(CampaignFactory())
    lock_orders(campaign=campaign)
    other.refresh_from_db()
    assert other.state == S.READY


def test_dry_run_changes_nothing():
    campaign = CampaignFactory()
    order = order_in(campaign, invite=True)
    result = lock_orders(campaign=campaign, dry_run=True)
    order.refresh_from_db()
    order.response.refresh_from_db()
    assert (result.ready, result.locked, result.dry_run) == (1, 0, True)
    assert order.state == S.READY and order.response.locked_at is None
    assert not OrderEvent.objects.filter(order=order).exists()


def test_lock_of_a_queryset_locks_only_those_orders():
    campaign = CampaignFactory()
    de = order_in(campaign, country="DE")
    se = order_in(campaign, country="SE")
    lock_orders(campaign=campaign, orders=campaign.orders.filter(country="DE"))
    de.refresh_from_db()
    se.refresh_from_db()
    assert (de.state, se.state) == (S.LOCKED, S.READY)


def test_lock_orders_command_locks_a_segment_only():
    campaign = CampaignFactory()
    de = order_in(campaign, country="DE")
    se = order_in(campaign, country="SE")
    Segment.objects.create(campaign=campaign, name="EU pilot", filters={"country": "DE"})
    call_command("lock_orders", campaign.slug, "--segment", "eu pilot", verbosity=0)
    de.refresh_from_db()
    se.refresh_from_db()
    assert (de.state, se.state) == (S.LOCKED, S.READY)


def test_lock_orders_command_dry_run_changes_nothing(capsys):
    campaign = CampaignFactory()
    order = order_in(campaign)
    call_command("lock_orders", campaign.slug, "--dry-run")
    order.refresh_from_db()
    assert order.state == S.READY
    assert "1 would lock" in capsys.readouterr().out


def test_lock_orders_command_fails_for_an_unknown_segment():
    campaign = CampaignFactory()
    with pytest.raises(CommandError, match="No segment"):
        call_command("lock_orders", campaign.slug, "--segment", "nope")


def test_lock_orders_command_fails_for_an_unknown_campaign():
    with pytest.raises(CommandError, match="No campaign"):
        call_command("lock_orders", "no-such-campaign")


# --- unlock ----------------------------------------------------------------------------


def test_unlock_needs_a_reason():
    campaign = CampaignFactory()
    order = order_in(campaign)
    lock_orders(campaign=campaign)
    with pytest.raises(ReasonRequired):
        unlock_order(order=order, actor=UserFactory(), reason="  ")


def test_unlock_brings_a_locked_order_back_to_ready_with_the_reason_logged():
    campaign = CampaignFactory()
    order = order_in(campaign, invite=True)
    lock_orders(campaign=campaign)
    user = UserFactory()
    unlock_order(order=order, actor=user, reason="Backer moved house")
    order.refresh_from_db()
    order.response.refresh_from_db()
    assert (order.state, order.locked_at, order.response.locked_at) == (S.READY, None, None)
    event = OrderEvent.objects.get(order=order, kind=EventKind.UNLOCK)
    assert (event.message, event.actor) == ("Backer moved house", user)


def test_unlock_with_an_open_hold_goes_back_to_submitted():
    campaign = CampaignFactory()
    order = order_in(campaign)
    lock_orders(campaign=campaign)
    order.refresh_from_db()
    # A hold opened on a locked order leaves it locked until staff unlock it.
    open_hold(order=order, reason=HoldReason.MANUAL_REVIEW)
    unlock_order(order=order, actor=UserFactory(), reason="Needs a look")
    order.refresh_from_db()
    assert order.state == S.SUBMITTED


def test_unlock_refuses_an_order_that_is_not_locked():
    order = order_in(CampaignFactory())
    with pytest.raises(OrderNotLocked):
        unlock_order(order=order, actor=UserFactory(), reason="why not")


# --- the notice before the lock ----------------------------------------------------------


def campaign_locking_in(hours):
    return CampaignFactory(survey_lock_at=timezone.now() + timedelta(hours=hours))


def test_notice_is_sent_within_48_hours_of_the_lock_date():
    campaign = campaign_locking_in(40)
    order = order_in(campaign, state=S.SUBMITTED, invite=True)
    assert send_lock_notices() == 1
    assert mail.outbox[0].to == [order.email]
    assert "/t/" in mail.outbox[0].body  # the magic link
    order.refresh_from_db()
    assert order.lock_notice_sent_at is not None
    assert OrderEvent.objects.filter(order=order, kind=EventKind.LOCK_NOTICE).exists()


def test_notice_is_sent_only_once_per_order():
    campaign = campaign_locking_in(40)
    order_in(campaign, invite=True)
    send_lock_notices()
    assert send_lock_notices() == 0
    assert len(mail.outbox) == 1


def test_a_moved_lock_date_is_announced_again():
    campaign = campaign_locking_in(40)
    order_in(campaign, invite=True)
    send_lock_notices()
    campaign.survey_lock_at = timezone.now() + timedelta(hours=20)
    campaign.save(update_fields=["survey_lock_at"])
    assert send_lock_notices() == 1
    assert send_lock_notices() == 0
    assert len(mail.outbox) == 2


def test_notice_waits_until_the_window_opens():
    campaign = campaign_locking_in(60)
    order_in(campaign, invite=True)
    assert send_lock_notices() == 0


def test_notice_window_follows_the_review_rules():
    campaign = campaign_locking_in(60)
    ReviewRules.objects.create(campaign=campaign, lock_notice_hours=72)
    order_in(campaign, invite=True)
    assert send_lock_notices() == 1


def test_notice_skips_locked_and_cancelled_orders():
    campaign = campaign_locking_in(10)
    order_in(campaign, state=S.LOCKED, invite=True)
    order_in(campaign, state=S.CANCELLED, invite=True)
    assert send_lock_notices() == 0
    assert mail.outbox == []


def test_notice_is_written_in_the_backers_language():
    campaign = campaign_locking_in(10)
    order_in(campaign, invite=True, language="de")
    send_lock_notices()
    html, _type = mail.outbox[0].alternatives[0]
    assert '<html lang="de">' in html


def test_notice_is_not_sent_after_the_lock_date():
    campaign = campaign_locking_in(-1)
    order_in(campaign, invite=True)
    assert send_lock_notices() == 0


# --- the beat job ------------------------------------------------------------------------


def test_due_locks_lock_campaigns_whose_date_has_passed():
    past = campaign_locking_in(-1)
    future = campaign_locking_in(5)
    due = order_in(past)
    not_due = order_in(future)
    results = run_due_locks()
    due.refresh_from_db()
    not_due.refresh_from_db()
    assert (due.state, not_due.state) == (S.LOCKED, S.READY)
    assert results[past.slug].locked == 1 and future.slug not in results


def test_due_locks_leave_an_order_staff_unlocked():
    campaign = campaign_locking_in(-1)
    order = order_in(campaign)
    run_due_locks()
    unlock_order(order=order, actor=UserFactory(), reason="Fix the address")
    run_due_locks()
    order.refresh_from_db()
    assert order.state == S.READY


def test_due_locks_event_names_the_lock_job():
    campaign = campaign_locking_in(-1)
    order = order_in(campaign)
    run_due_locks(now=timezone.now())
    event = OrderEvent.objects.get(order=order, kind=EventKind.STATE)
    assert event.actor_label == "lock job"


# --- charge at lock ----------------------------------------------------------------------


def saved_card_order(campaign, method):
    """A ready order of `campaign` with 30.00 due and a card saved on the test gateway."""
    order = order_due(campaign, state=S.READY)
    Payment.objects.create(
        order=order,
        gateway=Gateway.TEST,
        kind=PaymentKind.SAVE_CARD,
        status=PaymentStatus.SUCCEEDED,
        idempotency_key=f"setup-{order.pk}",
        amount=order.balance_due,
        customer_id="test_cus_1",
        payment_method_id=method,
    )
    return order


@pytest.fixture
def charging_campaign(settings):
    settings.PLEDGEPORT_TEST_GATEWAY = True
    campaign = CampaignFactory()
    use_gateway(campaign, Gateway.TEST, charge_at_lock=True)
    return campaign


def test_charge_at_lock_charges_the_saved_card_then_locks(charging_campaign):
    order = saved_card_order(charging_campaign, "test_pm_4242424242424242")
    result = lock_orders(campaign=charging_campaign)
    order.refresh_from_db()
    assert (result.locked, result.payment_failed, order.state) == (1, 0, S.LOCKED)
    assert order.payments.filter(kind=PaymentKind.CHARGE).exists()


def test_failed_charge_at_lock_leaves_the_order_unlocked_on_hold(charging_campaign):
    order = saved_card_order(charging_campaign, "test_pm_4000000000000341")
    result = lock_orders(campaign=charging_campaign)
    order.refresh_from_db()
    assert (result.locked, result.payment_failed, order.state) == (0, 1, S.SUBMITTED)
    assert order.holds.filter(reason=HoldReason.PAYMENT_FAILED, cleared_at__isnull=True).exists()


def test_dry_run_charges_nothing(charging_campaign):
    order = saved_card_order(charging_campaign, "test_pm_4242424242424242")
    lock_orders(campaign=charging_campaign, dry_run=True)
    assert not order.payments.filter(kind=PaymentKind.CHARGE).exists()


def _with_address(order, status):
    order.address = OrderAddress.objects.create(
        order=order, version=1, source="survey", country="US", status=status
    )
    order.address_status = status
    order.save(update_fields=["address", "address_status"])
    return order


def test_lock_leaves_a_ready_order_whose_address_was_never_checked():
    campaign = CampaignFactory()
    unchecked = _with_address(order_in(campaign), AddressStatus.UNCHECKED)
    valid = _with_address(order_in(campaign), AddressStatus.VALID)
    accepted = _with_address(order_in(campaign), AddressStatus.ACCEPTED)
    no_address = order_in(campaign)
    assert lock_preview(campaign=campaign).ready == 3
    result = lock_orders(campaign=campaign)
    assert result.locked == 3
    assert {row.key: row.count for row in result.not_ready} == {"address_unchecked": 1}
    states = {o.pk: o.state for o in campaign.orders.all()}
    assert states == {
        unchecked.pk: S.READY,
        valid.pk: S.LOCKED,
        accepted.pk: S.LOCKED,
        no_address.pk: S.LOCKED,
    }
