"""A creator imports a Kickstarter report in a real browser: upload, read the
dry run, apply, find the backer."""

import pytest

from pledges.models import Backer
from tests.factories import TEST_PASSWORD, CampaignFactory, MembershipFactory, UserFactory
from tests.pledges.reports import ks_row, write_kickstarter_csv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def creator(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    user = UserFactory(email="maker@example.org")
    campaign = CampaignFactory(slug="lantern", name="Lantern", currency="USD")
    MembershipFactory(user=user, organization=campaign.organization)
    return user, campaign


def test_creator_uploads_checks_and_applies_a_report(page, live_server, creator, tmp_path):
    user, campaign = creator
    report = write_kickstarter_csv(
        tmp_path / "59.00 USD Core Game - Oct 25 10pm.csv",
        [ks_row(1, **{"Backer Name": "Zoë Ångström"}), ks_row(2, **{"Pledged Status": "dropped"})],
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/app/c/{campaign.slug}/imports/")
    page.set_input_files("#id_file", str(report))
    page.click("text=Upload and check")
    page.wait_for_selector("text=This was a dry run: nothing has changed yet.")
    assert not Backer.objects.exists()
    page.click("text=Apply: 2 new, 0 updated")
    page.wait_for_selector("text=See the backers")
    assert Backer.objects.filter(campaign=campaign).count() == 2
    page.click("text=See the backers")
    page.fill("input[name=q]", "Ångström")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Zoë Ångström")
