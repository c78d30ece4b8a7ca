"""A backer completes the survey on a phone in real Chromium: magic link,
reward, dice colour, an add-on, a question, an address rejected for its postal
code and corrected (what was typed stays), review, done. No horizontal scroll
on any step."""

import re

import pytest

from surveys.models import CartLine, SurveyResponse
from tests.factories import CampaignFactory
from tests.surveys.backer_setup import build_world, link_path

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 390


def fits_the_phone(phone) -> bool:
    return phone.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_backer_completes_the_survey_on_a_phone(live_server, phone):
    campaign = CampaignFactory(slug="lantern", name="Lantern", currency="USD")
    w = build_world(campaign)
    phone.goto(live_server.url + link_path(w.alice))

    # Reward
    assert phone.get_by_role("heading", name="Your reward").is_visible()
    assert phone.get_by_text("Core box game").is_visible()
    assert fits_the_phone(phone)
    phone.get_by_role("button", name="That's right, continue").click()

    # Choices
    phone.get_by_label("Blue").check()
    assert fits_the_phone(phone)
    phone.get_by_role("button", name="Save and continue").click()

    # Add-ons: two playmats; the credit is announced
    assert phone.get_by_text("of credit").is_visible()
    phone.get_by_label("Playmat").fill("2")
    assert fits_the_phone(phone)
    phone.get_by_role("button", name="Save and continue").click()

    # Question
    phone.get_by_label("Name on the box").fill("Alice")
    phone.get_by_role("button", name="Save and continue").click()

    # Address: a German postal code has five digits; the page says so and keeps the rest.
    phone.get_by_label("Full name").fill("Alice Example")
    phone.get_by_label("Street address").fill("Invalidenstraße 116")
    phone.get_by_label("Postal code").fill("1011")
    phone.get_by_label("City").fill("Berlin")
    assert fits_the_phone(phone)
    phone.get_by_role("button", name="Save and continue").click()
    error = phone.locator(".field-error").first
    assert error.is_visible()
    assert re.search("postal code", error.inner_text(), re.I)
    assert phone.get_by_label("Street address").input_value() == "Invalidenstraße 116"
    assert phone.get_by_label("City").input_value() == "Berlin"
    assert fits_the_phone(phone)
    phone.get_by_label("Postal code").fill("10115")
    phone.get_by_role("button", name="Save and continue").click()

    # Review: 2 × 15 = 30 of add-ons, 31 credit → nothing due.
    assert phone.get_by_role("heading", name="Review your order").is_visible()
    assert phone.get_by_text("Blue dice").is_visible()
    assert fits_the_phone(phone)
    phone.get_by_role("button", name="Confirm my order").click()

    assert phone.get_by_role("heading", name="Your order").is_visible()
    assert phone.get_by_text("Complete").is_visible()
    saved = SurveyResponse.objects.get(invite=w.alice)
    assert saved.completed_at is not None and saved.paid_at is not None
    assert saved.address["postal_code"] == "10115"
    assert CartLine.objects.get(response=saved).quantity == 2


def test_country_change_rebuilds_the_address_form_in_place(live_server, phone):
    campaign = CampaignFactory(slug="harbour", name="Harbour", currency="USD")
    w = build_world(campaign)
    phone.goto(live_server.url + link_path(w.alice))
    phone.goto(live_server.url + f"/s/{campaign.slug}/step/address/")
    phone.get_by_label("Street address").fill("1 Market St")
    phone.get_by_label("Country").select_option("US")
    # htmx swaps the form: US labels, typed street kept, no page load needed.
    phone.get_by_label("ZIP code").wait_for()
    assert phone.get_by_label("State").is_visible()
    assert phone.get_by_label("Street address").input_value() == "1 Market St"
