"""The campaign funnel: imported → invited → completed → paid → address valid →
ready → locked → exported, counted in a few queries and drawn as a linked SVG chart."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone
from djmoney.money import Money

from accounts.models import Role
from orders.models import AddressStatus, OrderState
from orders.selectors import funnel
from surveys.models import SurveyResponse
from tests.factories import BackerFactory, CampaignFactory, SurveyFactory, SurveyInviteFactory

from .conftest_pages import order_in

pytestmark = pytest.mark.django_db


def _counts(campaign) -> dict[str, int]:
    return {step.key: step.count for step in funnel(campaign=campaign)}


def test_imported_counts_backers_that_are_not_merged(campaign):
    keep = BackerFactory(campaign=campaign)
    BackerFactory(campaign=campaign, merged_into=keep)
    BackerFactory(campaign=CampaignFactory())
    assert _counts(campaign)["imported"] == 1


def test_invited_counts_sent_invites_only(campaign):
    survey = SurveyFactory(campaign=campaign)
    SurveyInviteFactory(survey=survey, sent_at=timezone.now())
    SurveyInviteFactory(survey=survey)  # not sent yet
    assert _counts(campaign)["invited"] == 1


def test_completed_counts_completed_responses_without_tests(campaign):
    survey = SurveyFactory(campaign=campaign)
    for completed, is_test in ((True, False), (False, False), (True, True)):
        invite = SurveyInviteFactory(survey=survey, is_test=is_test)
        SurveyResponse.objects.create(
            invite=invite,
            backer=invite.backer,
            is_test=is_test,
            completed_at=timezone.now() if completed else None,
        )
    assert _counts(campaign)["completed"] == 1


def test_paid_means_past_the_survey_with_nothing_left_to_pay(campaign):
    usd = lambda amount: Money(Decimal(amount), "USD")  # noqa: E731
    order_in(campaign, balance_due=usd("0"), paid_total=usd("20"))
    order_in(campaign, balance_due=usd("0"))  # nothing was due beyond the pledge
    order_in(campaign, balance_due=usd("5"))
    order_in(campaign, state=OrderState.DRAFT, balance_due=usd("0"))
    order_in(campaign, state=OrderState.CANCELLED, balance_due=usd("0"))
    assert _counts(campaign)["paid"] == 2


def test_address_valid_counts_valid_and_accepted_addresses(campaign):
    order_in(campaign, address_status=AddressStatus.VALID)
    order_in(campaign, address_status=AddressStatus.ACCEPTED)
    order_in(campaign, address_status=AddressStatus.INVALID)
    assert _counts(campaign)["address"] == 2


def test_ready_and_locked_count_orders_at_or_past_the_step(campaign):
    for state in ("submitted", "ready", "locked", "released", "shipped", "cancelled"):
        order_in(campaign, state=state)
    counts = _counts(campaign)
    assert (counts["ready"], counts["locked"]) == (4, 3)


def test_exported_counts_orders_with_an_export(campaign):
    order_in(campaign, exported_at=timezone.now(), state=OrderState.RELEASED)
    order_in(campaign, state=OrderState.LOCKED)
    assert _counts(campaign)["exported"] == 1


def test_funnel_runs_in_four_queries(campaign, django_assert_num_queries):
    for _ in range(5):
        order_in(campaign)
    with django_assert_num_queries(4):
        funnel(campaign=campaign)


def test_each_order_step_links_to_the_filtered_order_list(campaign):
    urls = {step.key: step.url for step in funnel(campaign=campaign)}
    base = f"/app/c/{campaign.slug}/orders/?"
    assert urls["paid"] == base + "paid=yes"
    assert urls["locked"] == base + "state=locked&state=released&state=in_fulfillment" + (
        "&state=shipped&state=delivered"
    )
    assert urls["completed"].endswith("/survey/responses/?status=completed")


def test_the_paid_link_lists_the_orders_the_step_counts(owner_client, campaign):
    paid = order_in(campaign, balance_due=Money(Decimal("0"), "USD"))
    order_in(campaign, balance_due=Money(Decimal("9"), "USD"))
    url = next(step.url for step in funnel(campaign=campaign) if step.key == "paid")
    response = owner_client.get(url)
    assert [order.number for order in response.context["orders"]] == [paid.number]


def test_template_tag_draws_a_linked_bar_per_step(campaign):
    order_in(campaign, state=OrderState.READY)
    html = Template("{% load order_funnel %}{% order_funnel campaign %}").render(
        Context({"campaign": campaign, "role": Role.OWNER})
    )
    assert html.count("<rect") == 8
    assert html.count('class="funnel-step') == 8
    assert f"/app/c/{campaign.slug}/orders/?state=ready" in html
    assert "nothing left to pay" in html


def test_bars_link_only_to_pages_the_role_may_see(campaign):
    html = Template("{% load order_funnel %}{% order_funnel campaign %}").render(
        Context({"campaign": campaign, "role": Role.WAREHOUSE})
    )
    assert f"/app/c/{campaign.slug}/survey/" not in html
    assert f"/app/c/{campaign.slug}/backers/" not in html
    assert f"/app/c/{campaign.slug}/orders/?" in html


def _completed_order(campaign, survey, **fields):
    """An order past the survey: its backer's response is completed."""
    order = order_in(campaign, **fields)
    invite = SurveyInviteFactory(survey=survey, backer=order.backer, sent_at=timezone.now())
    SurveyResponse.objects.create(invite=invite, backer=order.backer, completed_at=timezone.now())
    return order


def _campaign_with_drafts(campaign):
    """Three drafts whose imported address is valid, two orders past the survey."""
    survey = SurveyFactory(campaign=campaign)
    for _ in range(3):
        order_in(campaign, state=OrderState.DRAFT, address_status=AddressStatus.VALID)
    return [
        _completed_order(campaign, survey, state=state, address_status=AddressStatus.VALID)
        for state in (OrderState.READY, OrderState.LOCKED)
    ]


def test_address_valid_leaves_out_drafts(campaign):
    _campaign_with_drafts(campaign)
    assert _counts(campaign)["address"] == 2


def test_the_funnel_never_grows_from_completed_on_with_drafts(campaign):
    _campaign_with_drafts(campaign)
    counts = _counts(campaign)
    chain = [counts[key] for key in ("completed", "address", "ready", "locked", "exported")]
    assert chain == sorted(chain, reverse=True)
    assert counts["paid"] <= counts["completed"]


def test_the_address_link_lists_the_orders_the_step_counts(owner_client, campaign):
    past = _campaign_with_drafts(campaign)
    url = next(step.url for step in funnel(campaign=campaign) if step.key == "address")
    response = owner_client.get(url)
    assert [order.number for order in response.context["orders"]] == [o.number for o in past]
