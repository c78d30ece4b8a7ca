"""The late-pledge store: public listing, buying a reward at its late price,
stock, and the survey that follows with the reward's price due."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from pledges.models import Backer, BackerSource, PaymentStatus, Platform, Pledge
from surveys.backer_views import SESSION_KEY
from surveys.models import LateReward, SurveyInvite, SurveyResponse
from surveys.services import late_pledges
from surveys.services.late_pledges import create_late_pledge
from surveys.services.responses import complete_survey, pledge_of
from tests.factories import RewardFactory, RewardItemFactory

from .backer_setup import build_world, ready_to_confirm, step_path


@pytest.fixture
def w(campaign):
    world = build_world(campaign)
    world.survey.late_pledges_enabled = True
    world.survey.save()
    world.late = LateReward.objects.create(
        survey=world.survey, reward=world.reward, price=Money("79.00", "USD"), stock_limit=3
    )
    return world


def store_path(campaign) -> str:
    return reverse("survey-store", kwargs={"slug": campaign.slug})


def reward_path(campaign, reward) -> str:
    return reverse("survey-store-reward", kwargs={"slug": campaign.slug, "reward_id": reward.pk})


BUYER = {"name": "Carol Late", "email": "Carol@Example.net", "country": "FR"}


def buy(w, email="carol@example.net"):
    return create_late_pledge(
        survey=w.survey, reward=w.reward, name="Carol Late", email=email, country="FR"
    )


# --- the store page ----------------------------------------------------------


def test_store_is_404_when_late_pledges_are_off(client, w):
    w.survey.late_pledges_enabled = False
    w.survey.save()
    assert client.get(store_path(w.campaign)).status_code == 404
    assert client.get(reward_path(w.campaign, w.reward)).status_code == 404


def test_store_is_404_when_the_survey_is_not_live(client, w):
    w.survey.status = "draft"
    w.survey.save()
    assert client.get(store_path(w.campaign)).status_code == 404


def test_store_is_404_once_the_survey_lock_date_passed(client, w):
    w.campaign.survey_lock_at = timezone.now() - timedelta(days=1)
    w.campaign.save()
    assert client.get(store_path(w.campaign)).status_code == 404


def test_store_lists_the_late_price_contents_and_stock_left(client, w):
    buy(w)
    page = client.get(store_path(w.campaign))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Core box" in html and "Core box game" in html
    assert "$79.00" in html
    assert "2 left" in html
    assert "plus shipping" in html
    assert reward_path(w.campaign, w.reward) in html


def test_store_says_when_shipping_is_included(client, w):
    w.late.shipping_included = True
    w.late.save()
    assert b"shipping included" in client.get(store_path(w.campaign)).content


def test_store_shows_a_sold_out_reward_without_a_pledge_button(client, w):
    w.late.stock_limit = 1
    w.late.save()
    buy(w)
    html = client.get(store_path(w.campaign)).content.decode()
    assert "Sold out" in html
    assert reward_path(w.campaign, w.reward) not in html


def test_store_does_not_list_inactive_late_rewards(client, w):
    w.late.is_active = False
    w.late.save()
    html = client.get(store_path(w.campaign)).content.decode()
    assert "$79.00" not in html and "No rewards are on sale" in html


def test_store_query_count_does_not_grow_with_the_rewards(client, w):
    client.get(store_path(w.campaign))  # warm caches (host names, sessions)
    with CaptureQueriesContext(connection) as one:
        client.get(store_path(w.campaign))
    for n in range(3):
        reward = RewardFactory(campaign=w.campaign, title=f"Deluxe {n}")
        RewardItemFactory(reward=reward)
        LateReward.objects.create(
            survey=w.survey, reward=reward, price=Money("99.00", "USD"), stock_limit=5
        )
    with CaptureQueriesContext(connection) as four:
        page = client.get(store_path(w.campaign))
    assert page.content.decode().count("Pledge for this reward") == 4
    assert len(four) == len(one)


def test_store_works_on_the_campaign_host_name(client, w, settings):
    from surveys.middleware import forget_host_names

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "pledge.example.com"]
    w.survey.host_name = "pledge.example.com"
    w.survey.save()
    forget_host_names()
    page = client.get("/store/", HTTP_HOST="pledge.example.com")
    assert page.status_code == 200
    assert f'href="/store/{w.reward.pk}/"'.encode() in page.content
    bought = client.post(f"/store/{w.reward.pk}/", BUYER, HTTP_HOST="pledge.example.com")
    assert bought.status_code == 302 and bought.url == "/"
    forget_host_names()


# --- the reward page and buying ----------------------------------------------


def test_reward_page_shows_the_form(client, w):
    page = client.get(reward_path(w.campaign, w.reward))
    assert page.status_code == 200
    for name in ("name", "email", "country"):
        assert f'name="{name}"'.encode() in page.content


def test_reward_page_of_an_inactive_late_reward_is_404(client, w):
    w.late.is_active = False
    w.late.save()
    assert client.get(reward_path(w.campaign, w.reward)).status_code == 404
    assert client.post(reward_path(w.campaign, w.reward), BUYER).status_code == 404
    assert not Backer.objects.filter(source=BackerSource.LATE_PLEDGE).exists()


def test_reward_without_a_late_offer_is_404(client, w):
    other = RewardFactory(campaign=w.campaign)
    assert client.get(reward_path(w.campaign, other)).status_code == 404


def test_buying_creates_a_late_pledge_backer_with_pledge_invite_and_response(client, w):
    response = client.post(reward_path(w.campaign, w.reward), BUYER)
    assert response.status_code == 302
    backer = Backer.objects.get(source=BackerSource.LATE_PLEDGE)
    assert backer.campaign == w.campaign and backer.platform == Platform.OTHER
    assert backer.platform_backer_id.startswith("late-")
    assert backer.name == "Carol Late" and backer.email_normalized == "carol@example.net"
    pledge = Pledge.objects.get(backer=backer)
    assert pledge.reward == w.reward and pledge.amount == Money(0, "USD")
    assert str(pledge.shipping_country) == "FR"
    assert pledge.payment_status == PaymentStatus.COLLECTED
    invite = SurveyInvite.objects.get(backer=backer)
    assert not invite.is_test and invite.sent_at is not None
    assert invite.email == "Carol@Example.net"
    saved = SurveyResponse.objects.get(invite=invite)
    assert saved.reward_due == Money("79.00", "USD") and not saved.is_test


def test_buying_opens_the_survey_at_the_reward_step(client, w):
    response = client.post(reward_path(w.campaign, w.reward), BUYER)
    home = reverse("survey-home", kwargs={"slug": w.campaign.slug})
    assert response.url == home
    invite = SurveyInvite.objects.get(backer__source=BackerSource.LATE_PLEDGE)
    assert client.session[SESSION_KEY] == {str(w.campaign.pk): invite.pk}
    next_page = client.get(home)
    assert next_page.status_code == 302 and next_page.url == step_path(w.campaign, "reward")


def test_buying_gives_a_new_session_id(client, w):
    client.get(store_path(w.campaign))
    client.session.save()
    before = client.session.session_key
    client.post(reward_path(w.campaign, w.reward), BUYER)
    assert client.session.session_key != before


def test_buying_emails_the_magic_link_after_commit(client, w, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reward_path(w.campaign, w.reward), BUYER)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Carol@Example.net"]
    assert f"/s/{w.campaign.slug}/t/" in message.body
    assert "Core box" in message.body


def test_a_failing_link_email_is_stored_on_the_invite(w, django_capture_on_commit_callbacks):
    refused = mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("refused")
    )
    with refused, django_capture_on_commit_callbacks(execute=True):
        invite = buy(w)
    invite.refresh_from_db()
    assert invite.send_error == "OSError: refused"


def test_a_late_backer_is_reminded_like_an_invited_one(w):
    invite = buy(w)
    assert invite.next_reminder_at == invite.sent_at + timedelta(days=3)


def test_invalid_input_keeps_what_was_typed_and_shows_errors_next_to_fields(client, w):
    page = client.post(
        reward_path(w.campaign, w.reward),
        {"name": "Carol Late", "email": "not-an-address", "country": "XX"},
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert 'value="Carol Late"' in html and 'value="not-an-address"' in html
    assert 'id="id_email_error"' in html and 'id="id_country_error"' in html
    assert not Backer.objects.filter(source=BackerSource.LATE_PLEDGE).exists()


def test_a_sold_out_purchase_is_refused_with_the_message(client, w):
    w.late.stock_limit = 1
    w.late.save()
    buy(w)
    page = client.post(reward_path(w.campaign, w.reward), {**BUYER, "email": "dan@example.net"})
    assert page.status_code == 400
    assert "“Core box” is sold out." in page.content.decode()
    assert Backer.objects.filter(source=BackerSource.LATE_PLEDGE).count() == 1
    assert SESSION_KEY not in client.session


# --- the service -------------------------------------------------------------


def test_create_late_pledge_refuses_once_the_stock_is_sold(w):
    for n in range(3):
        buy(w, email=f"buyer{n}@example.net")
    with pytest.raises(late_pledges.LateSoldOut) as refused:
        buy(w)
    assert refused.value.code == "late_sold_out"


def test_campaign_backers_of_the_reward_do_not_use_up_the_late_stock(w):
    # alice and bob pledged for the same reward during the campaign.
    w.late.stock_limit = 1
    w.late.save()
    assert buy(w).backer.source == BackerSource.LATE_PLEDGE


def test_unlimited_late_reward_always_sells(w):
    w.late.stock_limit = None
    w.late.save()
    for n in range(5):
        buy(w, email=f"buyer{n}@example.net")
    assert Pledge.objects.filter(backer__source=BackerSource.LATE_PLEDGE).count() == 5


def test_create_late_pledge_refuses_an_inactive_late_reward(w):
    w.late.is_active = False
    w.late.save()
    with pytest.raises(late_pledges.LateRewardUnavailable) as refused:
        buy(w)
    assert refused.value.code == "late_reward_unavailable"
    assert not Backer.objects.filter(source=BackerSource.LATE_PLEDGE).exists()


def test_create_late_pledge_refuses_when_the_store_is_closed(w):
    w.survey.late_pledges_enabled = False
    w.survey.save()
    with pytest.raises(late_pledges.LatePledgesClosed):
        buy(w)


def test_late_reward_price_is_due_in_the_campaign_currency(w):
    invite = buy(w)
    assert invite.response.reward_due.currency.code == "USD"
    assert invite.response.reward_due.amount == Decimal("79.00")


# --- the survey that follows -------------------------------------------------


def test_review_shows_the_reward_price_in_the_balance(client, w):
    client.post(reward_path(w.campaign, w.reward), BUYER)
    review = client.get(step_path(w.campaign, "review"))
    assert review.status_code == 200
    html = review.content.decode()
    assert "Your reward (late pledge)" in html
    assert "$79.00" in html
    # Nothing was paid on a platform: no credit, the whole price is due.
    assert html.count("$79.00") == 2


# --- the hold on a unit ------------------------------------------------------


def _age(invite, hours=3):
    """The late pledge of `invite` as if bought `hours` ago."""
    Pledge.objects.filter(backer=invite.backer).update(
        pledged_at=timezone.now() - timedelta(hours=hours)
    )


def _confirm(w, invite):
    response = ready_to_confirm(w, invite)
    return complete_survey(
        response=response, survey=w.survey, steps=response.steps_done, pledge=pledge_of(response)
    )


def test_an_unconfirmed_late_pledge_holds_its_unit_for_two_hours_only(w):
    w.late.stock_limit = 1
    w.late.save()
    first = buy(w)
    with pytest.raises(late_pledges.LateSoldOut):
        buy(w, email="dan@example.net")
    _age(first, hours=late_pledges.LATE_HOLD.total_seconds() / 3600 + 0.1)
    assert late_pledges.late_stock_left(late_rewards=[w.late]) == {w.late.pk: 1}
    assert buy(w, email="dan@example.net").backer.source == BackerSource.LATE_PLEDGE


def test_a_confirmed_late_pledge_keeps_its_unit(w, django_capture_on_commit_callbacks):
    w.late.stock_limit = 1
    w.late.save()
    first = buy(w)
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(w, first)
    _age(first)
    assert late_pledges.late_stock_left(late_rewards=[w.late]) == {w.late.pk: 0}
    with pytest.raises(late_pledges.LateSoldOut):
        buy(w, email="dan@example.net")


def test_confirming_after_the_hold_ran_out_needs_a_unit_left(w):
    w.late.stock_limit = 1
    w.late.save()
    slow = buy(w)
    _age(slow)
    buy(w, email="dan@example.net")  # took the unit the slow buyer no longer held
    with pytest.raises(late_pledges.LateSoldOut, match="sold out while your pledge waited"):
        _confirm(w, slow)
    assert SurveyResponse.objects.get(invite=slow).completed_at is None


def test_confirming_after_the_hold_ran_out_works_while_units_are_left(w):
    slow = buy(w)  # stock 3
    _age(slow)
    buy(w, email="dan@example.net")
    _confirm(w, slow)
    assert SurveyResponse.objects.get(invite=slow).completed_at is not None


def test_the_store_does_not_greet_visitors_with_the_backers_survey_intro(client, w):
    w.campaign.intro_text = "Thank you for backing Skyforge! Confirm your reward."
    w.campaign.save()
    page = client.get(store_path(w.campaign)).content.decode()
    assert "Pledge now" in page and "Thank you for backing" not in page
