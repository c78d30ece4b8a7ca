import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import Role
from pledges.models import Campaign, PaymentStatus
from tests.conftest import member
from tests.factories import BackerFactory, CampaignFactory, PledgeFactory, RewardFactory


def _form(**overrides):
    data = {
        "name": "Moonlit Tarot",
        "slug": "moonlit-tarot",
        "platform": "kickstarter",
        "currency": "EUR",
        "closed_on": "2026-11-20",
        "survey_lock_at": "2027-02-01T18:00",
        "primary_colour": "#112233",
        "accent_colour": "#ddaa00",
        "intro_text": "Hallo!",
        "sender_name": "Moonlit",
        "sender_email": "hi@moonlit.example",
    }
    data.update(overrides)
    return data


def _png(size=(40, 20)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, "#ff8800").save(buf, "PNG")
    return SimpleUploadedFile("logo.png", buf.getvalue(), content_type="image/png")


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owner_and_manager_create_a_campaign(client, organization, role):
    client.force_login(member(organization, role))
    response = client.post(reverse("campaign-create"), _form(organization=organization.pk))
    assert response.status_code == 302
    campaign = Campaign.objects.get(slug="moonlit-tarot")
    assert campaign.organization == organization
    assert campaign.currency == "EUR"
    assert campaign.survey_lock_at.isoformat() == "2027-02-01T18:00:00+00:00"
    assert response["Location"] == reverse("campaign-overview", args=["moonlit-tarot"])


def test_campaign_cannot_be_created_in_an_organization_one_does_not_belong_to(
    owner_client, organization
):
    other = CampaignFactory().organization
    response = owner_client.post(reverse("campaign-create"), _form(organization=other.pk))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Campaign.objects.filter(slug="moonlit-tarot").exists()


def test_taken_slug_is_reported_next_to_the_field_and_keeps_the_input(owner_client, organization):
    CampaignFactory(slug="moonlit-tarot")
    response = owner_client.post(reverse("campaign-create"), _form(organization=organization.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Campaign with this Slug already exists." in html
    assert 'value="Moonlit Tarot"' in html
    assert 'id="id_slug_error"' in html


def test_bad_colour_is_refused(owner_client, campaign):
    url = reverse("campaign-settings", args=[campaign.slug])
    response = owner_client.post(url, _form(slug=campaign.slug, primary_colour="red"))
    assert "Use a colour like #1f6feb." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.primary_colour != "red"


def test_settings_save_branding_and_logo(owner_client, campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = reverse("campaign-settings", args=[campaign.slug])
    response = owner_client.post(url, {**_form(slug=campaign.slug), "logo": _png()})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.primary_colour == "#112233"
    assert campaign.logo.name.startswith("campaign-logos/")
    assert (tmp_path / campaign.logo.name).exists()
    page = owner_client.get(reverse("campaign-overview", args=[campaign.slug])).content.decode()
    assert campaign.logo.url in page


def test_a_file_that_is_not_an_image_is_refused_as_logo(owner_client, campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("logo.png", b"<script>alert(1)</script>", content_type="image/png")
    url = reverse("campaign-settings", args=[campaign.slug])
    response = owner_client.post(url, {**_form(slug=campaign.slug), "logo": fake})
    assert response.status_code == 200
    assert "Upload a valid image" in response.content.decode()
    campaign.refresh_from_db()
    assert not campaign.logo


def test_oversized_logo_is_refused_with_the_limit(owner_client, campaign, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.LOGO_MAX_BYTES = 100
    big = _png(size=(300, 300))
    url = reverse("campaign-settings", args=[campaign.slug])
    response = owner_client.post(url, {**_form(slug=campaign.slug), "logo": big})
    assert "The logo is too large" in response.content.decode()
    assert "at most 100\xa0bytes." in response.content.decode()
    campaign.refresh_from_db()
    assert not campaign.logo


def test_overview_counts_backers_payments_and_duplicates(owner_client, campaign):
    reward = RewardFactory(campaign=campaign, title="Core Game")
    for status in [PaymentStatus.COLLECTED] * 3 + [PaymentStatus.DROPPED, PaymentStatus.ERRORED]:
        PledgeFactory(backer=BackerFactory(campaign=campaign), reward=reward, payment_status=status)
    BackerFactory(campaign=campaign, email="twice@example.net")
    BackerFactory(
        campaign=campaign, email="Twice@example.net ", email_normalized="twice@example.net"
    )
    response = owner_client.get(reverse("campaign-overview", args=[campaign.slug]))
    stats = response.context["stats"]
    assert stats["backers"] == 7
    assert (stats["collected"], stats["dropped"], stats["errored"]) == (3, 1, 1)
    assert stats["duplicate_emails"] == 1
    assert stats["rewards"][0].pledge_count == 5
    assert stats["top_countries"][0]["name"] == "Sweden"
    assert "Core Game" in response.content.decode()


def test_overview_query_count_does_not_grow_with_rewards(
    owner_client, campaign, django_assert_max_num_queries
):
    for _ in range(12):
        reward = RewardFactory(campaign=campaign)
        PledgeFactory(backer=BackerFactory(campaign=campaign), reward=reward)
    with django_assert_max_num_queries(14):
        owner_client.get(reverse("campaign-overview", args=[campaign.slug]))


def test_campaign_list_query_count_is_constant(
    owner_client, organization, django_assert_max_num_queries
):
    CampaignFactory.create_batch(15, organization=organization)
    with django_assert_max_num_queries(8):
        response = owner_client.get(reverse("campaign-list"))
    assert response.content.decode().count('class="campaign-link"') == 15
