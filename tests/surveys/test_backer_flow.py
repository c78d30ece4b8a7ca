"""The backer's survey through HTTP: magic link, every step, review, done."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import CartLine, SurveyResponse
from surveys.services.responses import open_invite, update_cart

from .backer_setup import GERMAN_ADDRESS, build_world, link_path, open_survey, step_path


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def home(campaign):
    return reverse("survey-home", kwargs={"slug": campaign.slug})


def test_magic_link_starts_the_response_and_goes_to_the_first_step(client, w):
    response = client.get(link_path(w.alice), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == step_path(w.campaign, "reward")
    assert b"Core box game" in response.content
    saved = SurveyResponse.objects.get(invite=w.alice)
    assert saved.backer_id == w.alice.backer_id and not saved.is_test
    w.alice.refresh_from_db()
    assert w.alice.opened_at is not None


def test_home_without_a_link_asks_for_it_and_shows_no_backer_data(client, w):
    response = client.get(home(w.campaign))
    assert response.status_code == 200
    assert b"personal link" in response.content
    assert b"Core box game" not in response.content


def test_step_without_a_session_goes_home(client, w):
    response = client.get(step_path(w.campaign, "address"))
    assert response.status_code == 302 and response.url == home(w.campaign)


def test_whole_survey_completes(client, w):
    open_survey(client, w.alice)
    assert client.post(step_path(w.campaign, "reward")).status_code == 302
    r = client.post(step_path(w.campaign, "choices"), {f"group_{w.group.pk}": str(w.opt_blue.pk)})
    assert r.status_code == 302 and r.url == step_path(w.campaign, "addons")
    r = client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "2", f"offer_{w.coin.pk}": "1"}
    )
    assert r.status_code == 302 and r.url == step_path(w.campaign, "questions")
    r = client.post(step_path(w.campaign, "questions"), {f"q_{w.question.pk}": "Alice"})
    assert r.status_code == 302 and r.url == step_path(w.campaign, "address")
    r = client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    assert r.status_code == 302 and r.url == step_path(w.campaign, "review")
    review = client.get(step_path(w.campaign, "review"))
    assert b"Balance due" in review.content
    r = client.post(step_path(w.campaign, "review"))
    assert r.status_code == 302 and r.url == reverse(
        "survey-done", kwargs={"slug": w.campaign.slug}
    )

    saved = SurveyResponse.objects.get(invite=w.alice)
    assert saved.completed_at is not None
    assert saved.choices == {str(w.group.pk): [w.opt_blue.pk]}
    assert saved.answers == {str(w.question.pk): "Alice"}
    assert saved.address["postal_code"] == "10115" and saved.address_country == "DE"
    # Credit: 100 pledged − 59 reward − 10 shipping = 31; add-ons 2 × 15 + 20 = 50; due 19.
    assert saved.credit.amount == Decimal("31.00")
    assert saved.addons_total.amount == Decimal("50.00")
    assert saved.balance_due.amount == Decimal("19.00")
    assert saved.paid_at is None
    done = client.get(r.url)
    assert b"Blue dice" in done.content and b"Red dice" not in done.content


def test_nothing_due_marks_the_response_paid(client, w):
    open_survey(client, w.bob)
    client.post(step_path(w.campaign, "reward"))
    client.post(step_path(w.campaign, "choices"), {f"group_{w.group.pk}": str(w.opt_red.pk)})
    client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "0", f"offer_{w.coin.pk}": "0"}
    )
    client.post(step_path(w.campaign, "questions"), {f"q_{w.question.pk}": "Bob"})
    client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    client.post(step_path(w.campaign, "review"))
    saved = SurveyResponse.objects.get(invite=w.bob)
    assert saved.completed_at is not None and saved.paid_at is not None
    assert saved.balance_due.amount == 0


def test_review_refuses_while_a_step_is_missing(client, w):
    open_survey(client, w.alice)
    client.post(step_path(w.campaign, "reward"))
    r = client.post(step_path(w.campaign, "review"))
    assert r.status_code == 400
    assert SurveyResponse.objects.get(invite=w.alice).completed_at is None


def test_choices_must_be_made(client, w):
    open_survey(client, w.alice)
    r = client.post(step_path(w.campaign, "choices"), {})
    assert r.status_code == 400
    assert b"This field is required" in r.content
    assert SurveyResponse.objects.get(invite=w.alice).choices == {}


def test_an_option_of_another_group_is_refused(client, w):
    open_survey(client, w.alice)
    r = client.post(step_path(w.campaign, "choices"), {f"group_{w.group.pk}": "999999"})
    assert r.status_code == 400


def test_addon_above_the_per_backer_limit_keeps_what_was_typed(client, w):
    open_survey(client, w.alice)
    r = client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "5", f"offer_{w.coin.pk}": "1"}
    )
    assert r.status_code == 400
    assert b'value="5"' in r.content
    assert not CartLine.objects.exists()


def test_sold_out_offer_is_refused_with_what_is_left(client, w):
    w.coin.stock_limit = 1
    w.coin.save()
    bob = open_invite(invite=w.bob)
    update_cart(response=bob, survey=w.survey, quantities={w.coin.pk: 1})
    open_survey(client, w.alice)
    r = client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "0", f"offer_{w.coin.pk}": "1"}
    )
    assert r.status_code == 400
    assert "sold out" in r.content.decode()
    assert not CartLine.objects.filter(response__invite=w.alice).exists()


def test_offer_for_another_tier_is_not_on_sale(client, w, campaign):
    from tests.factories import RewardFactory

    w.coin.tiers.add(RewardFactory(campaign=campaign, title="Deluxe"))
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "addons"))
    assert b"Metal coins" not in page.content
    r = client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "0", f"offer_{w.coin.pk}": "1"}
    )
    assert not CartLine.objects.filter(offer=w.coin).exists()
    assert r.status_code in (302, 400)


def test_invalid_address_keeps_what_was_typed(client, w):
    open_survey(client, w.alice)
    data = {**GERMAN_ADDRESS, "postal_code": "1011", "city": "Berlin-Mitte"}
    r = client.post(step_path(w.campaign, "address"), data)
    assert r.status_code == 400
    body = r.content.decode()
    assert 'value="1011"' in body and 'value="Berlin-Mitte"' in body
    assert "postal code" in body.lower()
    assert SurveyResponse.objects.get(invite=w.alice).address == {}


def test_changing_the_country_rebuilds_the_form_without_errors(client, w):
    open_survey(client, w.alice)
    data = {**GERMAN_ADDRESS, "country_code": "US", "refresh": "1"}
    r = client.post(step_path(w.campaign, "address"), data)
    assert r.status_code == 200
    body = r.content.decode()
    assert "ZIP code" in body and "State" in body
    assert "field-error" not in body
    assert 'value="Invalidenstraße 116"' in body or "Invalidenstraße 116" in body


def test_address_can_go_on_every_pledge_of_the_same_email(client, w):
    from .backer_setup import new_invite

    second = new_invite(w, email="ALICE@example.net")
    SurveyResponse.objects.create(invite=second, backer=second.backer)
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address"))
    assert b"apply_to_all" in page.content
    client.post(step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "apply_to_all": "1"})
    other = SurveyResponse.objects.get(invite=second)
    assert other.address["postal_code"] == "10115"
    assert other.address_country == "DE"
    assert not SurveyResponse.objects.filter(invite=w.bob).exists()


def test_locked_order_is_read_only(client, w):
    open_survey(client, w.alice)
    client.post(step_path(w.campaign, "reward"))
    # What the lock does to the order's response (orders.services.locking).
    SurveyResponse.objects.filter(invite=w.alice).update(locked_at=timezone.now())
    r = client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    assert r.status_code == 302 and r.url.endswith("/done/")
    assert SurveyResponse.objects.get(invite=w.alice).address == {}
    done = client.get(r.url)
    assert b"Locked" in done.content and b"Change:" not in done.content


def test_past_the_lock_date_a_response_whose_order_is_not_locked_stays_open(client, w):
    """The lock date is when the lock job runs: orders it left (on hold, say) and
    orders staff unlocked can still be fixed by their backers."""
    open_survey(client, w.alice)
    client.post(step_path(w.campaign, "reward"))
    w.campaign.survey_lock_at = timezone.now() - timezone.timedelta(minutes=1)
    w.campaign.save()
    r = client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    assert r.status_code == 302 and not r.url.endswith("/done/")
    assert SurveyResponse.objects.get(invite=w.alice).address["postal_code"] == "10115"


def test_completed_backer_may_still_change_the_address(client, w):
    test_nothing_due_marks_the_response_paid(client, w)
    r = client.post(step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "name": "Bob Builder"})
    assert r.status_code == 302 and r.url.endswith("/done/")
    saved = SurveyResponse.objects.get(invite=w.bob)
    assert saved.address["name"] == "Bob Builder" and saved.completed_at is not None


def test_changing_the_cart_after_completion_asks_for_review_again(client, w):
    test_nothing_due_marks_the_response_paid(client, w)
    client.post(
        step_path(w.campaign, "addons"), {f"offer_{w.mat.pk}": "1", f"offer_{w.coin.pk}": "0"}
    )
    assert SurveyResponse.objects.get(invite=w.bob).completed_at is None


def test_backer_picks_german_and_the_page_says_so(client, w):
    w.survey.languages = ["en", "de"]
    w.survey.save()
    client.get(link_path(w.alice), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert SurveyResponse.objects.get(invite=w.alice).language == "de"
    page = client.get(step_path(w.campaign, "reward"))
    assert page.headers["Content-Language"] == "de"
    client.post(reverse("survey-language", kwargs={"slug": w.campaign.slug}), {"language": "en"})
    assert SurveyResponse.objects.get(invite=w.alice).language == "en"


def test_language_not_offered_falls_back_to_english(client, w):
    client.get(link_path(w.alice), HTTP_ACCEPT_LANGUAGE="de")
    assert SurveyResponse.objects.get(invite=w.alice).language == "en"


def test_company_vat_number_is_checked_and_stored_compact(client, w):
    open_survey(client, w.alice)
    client.post(
        step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "vat_number": "de 136 695 976"}
    )
    assert SurveyResponse.objects.get(invite=w.alice).vat_number == "DE136695976"


def test_wrong_vat_number_is_refused_next_to_the_field_keeping_the_address(client, w):
    open_survey(client, w.alice)
    r = client.post(step_path(w.campaign, "address"), {**GERMAN_ADDRESS, "vat_number": "DE123"})
    assert r.status_code == 400
    body = r.content.decode()
    assert 'id="id_vat_number_error"' in body and 'value="DE123"' in body
    assert 'value="Alice Example"' in body
    assert SurveyResponse.objects.get(invite=w.alice).address == {}
