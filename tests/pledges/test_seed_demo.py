import pytest
from django.core.management import call_command

from accounts.models import Membership, Role
from pledges.demo import CAMPAIGN_SLUG, DEMO_PASSWORD
from pledges.models import Backer, Campaign, DuplicateGroup, PaymentStatus, Pledge


@pytest.fixture
def seeded(db):
    call_command("seed_demo", verbosity=0)
    return Campaign.objects.get(slug=CAMPAIGN_SLUG)


def test_demo_campaign_has_tiers_backers_and_countries(seeded):
    assert 4 <= seeded.rewards.count() <= 6
    assert Backer.objects.filter(campaign=seeded).count() == 500
    countries = set(
        Pledge.objects.filter(backer__campaign=seeded)
        .exclude(shipping_country="")
        .values_list("shipping_country", flat=True)
    )
    assert len(countries) >= 25


def test_demo_has_the_awkward_cases_later_features_need(seeded):
    pledges = Pledge.objects.filter(backer__campaign=seeded)
    assert pledges.filter(payment_status=PaymentStatus.DROPPED).exists()
    assert pledges.filter(payment_status=PaymentStatus.ERRORED).exists()
    # non-ASCII names
    assert any(not name.isascii() for name in Backer.objects.values_list("name", flat=True))
    # the same email under two backer ids
    emails = list(Backer.objects.values_list("email_normalized", flat=True))
    assert len(emails) - len(set(emails)) >= 3
    assert DuplicateGroup.objects.filter(campaign=seeded, status="open").count() >= 3
    # broken addresses: a shipping reward with a missing street, city or postcode
    shipping = pledges.exclude(shipping_country="")
    broken = (
        shipping.filter(shipping_postal_code="").count()
        + shipping.filter(shipping_address_1="").count()
        + shipping.filter(shipping_city="").count()
        + shipping.filter(shipping_postal_code__startswith="??").count()
    )
    assert broken >= 5


def test_demo_logins_work_for_every_role(seeded, client):
    roles = set(
        Membership.objects.filter(organization=seeded.organization).values_list("role", flat=True)
    )
    assert roles == set(Role.values)
    for email in ["owner@example.com", "support@example.com"]:
        response = client.post("/accounts/login/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302
        assert client.get(f"/app/c/{seeded.slug}/").status_code == 200
        client.logout()


def test_seeding_twice_changes_nothing(seeded):
    before = sorted(
        Pledge.objects.values_list(
            "backer__platform_backer_id", "amount", "payment_status", "pledged_at"
        )
    )
    call_command("seed_demo", verbosity=0)
    after = sorted(
        Pledge.objects.values_list(
            "backer__platform_backer_id", "amount", "payment_status", "pledged_at"
        )
    )
    assert before == after
    assert Campaign.objects.count() == 1
