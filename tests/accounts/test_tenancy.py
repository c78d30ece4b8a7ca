"""Organization B's people get 404 for every back-office URL of organization A.

TENANT_URLS lists every URL that takes a campaign or organization; the last
test fails when a new back-office URL is added without being listed here."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Role
from tests.factories import (
    BackerFactory,
    CampaignFactory,
    MembershipFactory,
    OrganizationFactory,
    PledgeFactory,
)

# url name → how to build its kwargs from the victim's objects
TENANT_URLS = {
    "campaign-overview": lambda o: {"slug": o["campaign"].slug},
    "campaign-settings": lambda o: {"slug": o["campaign"].slug},
    "team": lambda o: {"org_slug": o["organization"].slug},
    "team-invite": lambda o: {"org_slug": o["organization"].slug},
    "team-invitation-revoke": lambda o: {
        "org_slug": o["organization"].slug,
        "invitation_id": o["invitation"].pk,
    },
    "team-member-role": lambda o: {
        "org_slug": o["organization"].slug,
        "membership_id": o["membership"].pk,
    },
    "team-member-remove": lambda o: {
        "org_slug": o["organization"].slug,
        "membership_id": o["membership"].pk,
    },
}
TENANT_KWARGS = {"slug", "org_slug"}


@pytest.fixture
def victim(db):
    from accounts.models import Invitation

    organization = OrganizationFactory()
    membership = MembershipFactory(organization=organization, role=Role.OWNER)
    campaign = CampaignFactory(organization=organization)
    PledgeFactory(backer=BackerFactory(campaign=campaign))
    invitation = Invitation.objects.create(
        organization=organization, email="new@example.org", role=Role.SUPPORT
    )
    return {
        "organization": organization,
        "membership": membership,
        "campaign": campaign,
        "invitation": invitation,
    }


@pytest.mark.parametrize("url_name", sorted(TENANT_URLS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_other_organization_gets_404(outsider_client, victim, url_name, method):
    url = reverse(url_name, kwargs=TENANT_URLS[url_name](victim))
    response = getattr(outsider_client, method)(url, {"role": "owner", "email": "x@example.org"})
    assert response.status_code in (404, 405)
    if response.status_code == 405:  # a GET on a POST-only URL: the POST case must 404
        assert method == "get"


def test_nothing_of_the_victim_changed_after_outsider_posts(outsider_client, victim):
    for url_name, kwargs in TENANT_URLS.items():
        outsider_client.post(reverse(url_name, kwargs=kwargs(victim)), {"role": "support"})
    victim["membership"].refresh_from_db()
    victim["invitation"].refresh_from_db()
    assert victim["membership"].role == Role.OWNER
    assert victim["invitation"].revoked_at is None
    assert victim["organization"].memberships.count() == 1


@pytest.mark.parametrize("url_name", sorted(TENANT_URLS))
def test_anonymous_is_sent_to_login(client, victim, url_name):
    url = reverse(url_name, kwargs=TENANT_URLS[url_name](victim))
    response = client.get(url)
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


def test_campaign_list_shows_only_own_organizations(outsider_client, victim):
    response = outsider_client.get(reverse("campaign-list"))
    assert response.status_code == 200
    assert victim["campaign"].name not in response.content.decode()


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield p, prefix + str(p.pattern)


def test_every_tenant_url_is_covered_by_this_test():
    names = {
        p.name
        for p, route in _walk(get_resolver().url_patterns)
        if p.name and TENANT_KWARGS & set(p.pattern.converters) and not route.startswith("admin/")
    }
    assert names - set(TENANT_URLS) == set(), "add the new URL to TENANT_URLS"
