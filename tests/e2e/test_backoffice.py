"""The creator's first journey in a real browser: log in, open the demo
campaign, change its branding, invite a teammate."""

import pytest

from accounts.models import Invitation
from pledges.demo import CAMPAIGN_SLUG, DEMO_PASSWORD, seed_demo
from pledges.models import Campaign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(transactional_db):
    """The demo's organization, team and campaign with its 500 backers: the part of
    `seed_demo` these journeys use (the survey, shipping and orders demo on top of it
    would cost each test a minute)."""
    seed_demo(backers=500)
    return Campaign.objects.get(slug=CAMPAIGN_SLUG)


def _log_in(page, live_server, email="owner@example.com"):
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_creator_logs_in_opens_campaign_and_changes_branding(page, live_server, demo):
    _log_in(page, live_server)
    page.click(f"text={demo.name}")
    assert page.locator(".kpi-value").first.inner_text() == "500"
    page.click("nav.stages >> text=Settings")
    page.fill("#id_intro_text", "Welcome aboard, sky captains!")
    page.click("text=Save settings")
    assert page.locator(".msg.success").inner_text() == "Settings saved."
    demo.refresh_from_db()
    assert demo.intro_text == "Welcome aboard, sky captains!"


def test_wrong_password_shows_an_error_on_the_page(page, live_server, demo):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "owner@example.com")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "correct email and password" in page.locator(".form-errors").inner_text()


def test_owner_invites_a_teammate(page, live_server, demo):
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/app/orgs/{demo.organization.slug}/team/")
    page.fill("#id_email", "new.packer@example.org")
    page.select_option("#id_role", "warehouse")
    page.click("text=Send invitation")
    assert "Invitation sent to new.packer@example.org" in page.locator(".msg.success").inner_text()
    assert Invitation.objects.get(email="new.packer@example.org").role == "warehouse"


def test_support_agent_sees_no_settings_on_a_phone(phone, live_server, demo):
    _log_in(phone, live_server, email="support@example.com")
    phone.goto(f"{live_server.url}/app/c/{demo.slug}/")
    assert phone.locator("nav.stages >> text=Settings").count() == 0
    # the page fits the phone's width: no sideways scrolling
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
