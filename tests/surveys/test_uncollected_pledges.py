"""A pledge whose money the platform never collected (dropped, errored) pays for
nothing: no credit, no shipping paid on the platform, and its reward is due in the
survey like a late pledge's, so the confirmation stays unpaid and the order asks for it."""

from decimal import Decimal

import pytest
from djmoney.money import Money

from orders.services.building import build_order
from pledges.models import PaymentStatus, Pledge
from surveys.models import ImportedAddOn
from surveys.services.responses import (
    complete_survey,
    open_invite,
    quote_for,
)
from tests.factories import BackerFactory, PledgeFactory, SurveyInviteFactory
from tests.surveys.backer_setup import (
    build_world,
    open_survey,
    ready_to_confirm,
    step_path,
)
from tests.surveys.test_review_pricing import _ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def _set_status(invite, status):
    Pledge.objects.filter(backer=invite.backer).update(payment_status=status)


def _quote(w, invite):
    return quote_for(response=open_invite(invite=invite), survey=w.survey)


def _confirmed(w, invite):
    response = ready_to_confirm(w, invite)
    complete_survey(response=response, survey=w.survey, steps=response.steps_done)
    response.refresh_from_db()
    return response


# --- the quote -------------------------------------------------------------------


def test_a_dropped_pledge_gives_no_credit_and_owes_the_reward_price(w):
    # Alice pledged 100.00 (10.00 shipping) for the 59.00 reward: 31.00 credit if collected.
    _set_status(w.alice, PaymentStatus.DROPPED)
    quote = _quote(w, w.alice)
    assert (quote.credit, quote.shipping_paid, quote.pledge_amount) == (0, 0, 0)
    assert quote.reward_due == Decimal("59.00")
    assert quote.balance_due == Decimal("59.00")


def test_an_errored_pledge_gives_no_credit_and_owes_the_reward_price(w):
    _set_status(w.alice, PaymentStatus.ERRORED)
    quote = _quote(w, w.alice)
    assert quote.credit == 0
    assert (quote.reward_due, quote.balance_due) == (Decimal("59.00"), Decimal("59.00"))


@pytest.mark.parametrize("status", [PaymentStatus.REFUNDED, PaymentStatus.CANCELLED])
def test_a_refunded_or_cancelled_pledge_owes_the_reward_price_too(w, status):
    _set_status(w.bob, status)
    quote = _quote(w, w.bob)
    assert (quote.credit, quote.reward_due) == (0, Decimal("59.00"))


def test_a_collected_pledge_keeps_its_credit_and_owes_nothing_for_the_reward(w):
    quote = _quote(w, w.alice)
    assert (quote.pledge_amount, quote.shipping_paid) == (Decimal("100.00"), Decimal("10.00"))
    assert quote.credit == Decimal("31.00")
    assert (quote.reward_due, quote.balance_due) == (0, 0)


def test_a_dropped_pledge_has_its_shipping_charged_in_full(w):
    _ship(w)  # EU fee 12.00; Alice paid 10.00 shipping on the platform (never collected)
    _set_status(w.alice, PaymentStatus.DROPPED)
    quote = _quote(w, w.alice)
    assert (quote.shipping_fee, quote.shipping_credited, quote.shipping) == (
        Decimal("12.00"),
        Decimal("0.00"),
        Decimal("12.00"),
    )
    assert quote.balance_due == Decimal("71.00")


def test_a_dropped_pledge_owes_the_platform_add_ons_that_ship_with_its_reward(w):
    ImportedAddOn.objects.create(campaign=w.campaign, text="Playmat", offer=w.mat)
    Pledge.objects.filter(backer=w.alice.backer).update(
        addons_text="Playmat × 2", payment_status=PaymentStatus.DROPPED
    )
    quote = _quote(w, w.alice)
    assert (quote.platform_addons, quote.reward_due) == (0, Decimal("89.00"))


def test_a_dropped_pledge_without_a_reward_owes_what_was_pledged_less_shipping(w):
    backer = BackerFactory(campaign=w.campaign, email="carl@example.net")
    PledgeFactory(
        backer=backer,
        reward=None,
        amount=Money("30.00", "USD"),
        shipping_paid=Money("5.00", "USD"),
        payment_status=PaymentStatus.DROPPED,
    )
    invite = SurveyInviteFactory(survey=w.survey, backer=backer, email=backer.email)
    quote = _quote(w, invite)
    assert (quote.credit, quote.reward_due) == (0, Decimal("25.00"))


# --- the review, the confirmation and the order ------------------------------------


def test_the_review_of_a_dropped_pledge_shows_the_reward_price_as_balance_due(client, w):
    _set_status(w.alice, PaymentStatus.DROPPED)
    open_survey(client, w.alice)
    html = client.get(step_path(w.campaign, "review")).content.decode()
    assert '<dd class="total">$59.00</dd>' in html
    assert "$31.00" not in html
    assert "your pledge was not collected" in html and "late pledge" not in html


def test_the_reward_step_of_a_dropped_pledge_says_the_reward_is_paid_here(client, w):
    _set_status(w.alice, PaymentStatus.DROPPED)
    open_survey(client, w.alice)
    html = client.get(step_path(w.campaign, "reward")).content.decode()
    assert "the platform did not collect your pledge" in html and "$59.00" in html
    assert "You pledged" not in html


def test_confirming_a_dropped_pledge_leaves_it_unpaid_with_the_reward_due(w):
    _set_status(w.alice, PaymentStatus.DROPPED)
    response = _confirmed(w, w.alice)
    assert response.completed_at is not None and response.paid_at is None
    assert response.reward_due == Money("59.00", "USD")
    assert response.credit == Money("0.00", "USD")
    assert response.balance_due == Money("59.00", "USD")


def test_confirming_a_collected_pledge_stores_no_reward_due(w):
    response = _confirmed(w, w.alice)
    assert response.paid_at is not None
    assert response.reward_due == Money("0.00", "USD")
    assert response.credit == Money("31.00", "USD")


def test_the_order_of_a_dropped_pledge_is_held_for_payment(w):
    _set_status(w.alice, PaymentStatus.DROPPED)
    order = build_order(response=_confirmed(w, w.alice))
    assert order.balance_due == Money("59.00", "USD")
    assert order.holds.filter(reason="payment_due", cleared_at__isnull=True).exists()
