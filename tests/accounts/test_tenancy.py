"""Organization B's people get 404 for every back-office URL of organization A.

TENANT_URLS lists every URL that takes a campaign or organization; the last
test fails when a new back-office URL is added without being listed here."""

import importlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Role
from pledges.models import (
    Backer,
    DuplicateGroup,
    DuplicateReason,
    ImportProblem,
    ImportRun,
    ImportState,
)
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
    "backer-list": lambda o: {"slug": o["campaign"].slug},
    "backer-detail": lambda o: {"slug": o["campaign"].slug, "backer_id": o["backer"].pk},
    "duplicate-list": lambda o: {"slug": o["campaign"].slug},
    "duplicate-merge": lambda o: {"slug": o["campaign"].slug, "group_id": o["group"].pk},
    "duplicate-keep-apart": lambda o: {"slug": o["campaign"].slug, "group_id": o["group"].pk},
    "import-list": lambda o: {"slug": o["campaign"].slug},
    **{
        name: (lambda o: {"slug": o["campaign"].slug, "run_id": o["run"].pk})
        for name in (
            "import-detail",
            "import-progress",
            "import-mapping",
            "import-apply",
            "import-problems-csv",
        )
    },
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

# Each app's tests can register more URLs in tests/<app>/tenant_urls.py:
# URLS (name → kwargs builder) and build(victim) → extra victim objects.
_EXTENSIONS = [
    importlib.import_module(f"tests.{path.parent.name}.{path.stem}")
    for path in sorted(Path(__file__).parent.parent.glob("*/tenant_urls*.py"))
]
for _extension in _EXTENSIONS:
    TENANT_URLS.update(_extension.URLS)


@pytest.fixture
def victim(db):
    from accounts.models import Invitation

    organization = OrganizationFactory()
    membership = MembershipFactory(organization=organization, role=Role.OWNER)
    campaign = CampaignFactory(organization=organization)
    backer = PledgeFactory(backer=BackerFactory(campaign=campaign)).backer
    group = DuplicateGroup.objects.create(
        campaign=campaign, reason=DuplicateReason.SAME_EMAIL, key=backer.email_normalized
    )
    twin = BackerFactory(campaign=campaign, email=backer.email, duplicate_group=group)
    Backer.objects.filter(pk=backer.pk).update(duplicate_group=group)
    invitation = Invitation.objects.create(
        organization=organization, email="new@example.org", role=Role.SUPPORT
    )
    run = ImportRun.objects.create(
        campaign=campaign,
        original_name="report.csv",
        file_hash="0" * 64,
        state=ImportState.PREVIEWED,
        counts={"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "problems": 1, "blocking": 0},
    )
    run.file.save("upload", ContentFile(b"Backer UID,Pledge Amount\n1,$5\n"))
    ImportProblem.objects.create(run=run, line=2, column="Email", message="secret detail")
    objects = {
        "run": run,
        "organization": organization,
        "membership": membership,
        "campaign": campaign,
        "invitation": invitation,
        "backer": backer,
        "twin": twin,
        "group": group,
    }
    for extension in _EXTENSIONS:
        objects.update(extension.build(objects))
    return objects


@pytest.mark.parametrize("url_name", sorted(TENANT_URLS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_other_organization_gets_404(outsider_client, victim, url_name, method):
    url = reverse(url_name, kwargs=TENANT_URLS[url_name](victim))
    response = getattr(outsider_client, method)(url, {"role": "owner", "email": "x@example.org"})
    assert response.status_code in (404, 405)
    if response.status_code == 405:  # a GET on a POST-only URL: the POST case must 404
        assert method == "get"


def test_outsider_cannot_apply_the_victims_import(outsider_client, victim):
    outsider_client.post(reverse("import-apply", args=[victim["campaign"].slug, victim["run"].pk]))
    victim["run"].refresh_from_db()
    assert victim["run"].state == ImportState.PREVIEWED
    assert not Backer.objects.filter(campaign=victim["campaign"], platform="other").exists()


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
