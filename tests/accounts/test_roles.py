"""Roles are enforced on the server: a request the role may not make is
refused (403) and changes nothing, whatever the page shows."""

import pytest
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from accounts.permissions import ROLE_MATRIX, role_can
from tests.conftest import member


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_support_and_warehouse_cannot_change_campaign_settings(client, campaign, role):
    client.force_login(member(campaign.organization, role))
    url = reverse("campaign-settings", args=[campaign.slug])
    assert client.get(url).status_code == 403
    response = client.post(url, {"name": "Hijacked", "slug": campaign.slug})
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.name != "Hijacked"


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE, Role.MANAGER, Role.OWNER])
def test_every_role_can_read_the_campaign_overview(client, campaign, role):
    client.force_login(member(campaign.organization, role))
    response = client.get(reverse("campaign-overview", args=[campaign.slug]))
    assert response.status_code == 200
    assert campaign.name in response.content.decode()


def test_settings_link_is_hidden_from_support(client, campaign):
    client.force_login(member(campaign.organization, Role.SUPPORT))
    html = client.get(reverse("campaign-overview", args=[campaign.slug])).content.decode()
    assert reverse("campaign-settings", args=[campaign.slug]) not in html


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_support_and_warehouse_cannot_create_campaigns(client, organization, role):
    client.force_login(member(organization, role))
    assert client.get(reverse("campaign-create")).status_code == 403
    response = client.post(
        reverse("campaign-create"),
        {
            "organization": organization.pk,
            "name": "X",
            "slug": "x",
            "platform": "other",
            "currency": "USD",
            "primary_colour": "#000000",
            "accent_colour": "#ffffff",
        },
    )
    assert response.status_code == 403
    assert not organization.campaigns.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SUPPORT, Role.WAREHOUSE])
def test_only_owners_manage_the_team(client, organization, role):
    actor = member(organization, role)
    target = member(organization, Role.SUPPORT)
    target_membership = Membership.objects.get(user=target, organization=organization)
    client.force_login(actor)
    slug = organization.slug
    assert (
        client.post(
            reverse("team-invite", args=[slug]), {"email": "a@b.org", "role": "owner"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("team-member-role", args=[slug, target_membership.pk]), {"role": "owner"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("team-member-remove", args=[slug, target_membership.pk])).status_code
        == 403
    )
    target_membership.refresh_from_db()
    assert target_membership.role == Role.SUPPORT
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.SUPPORT, Role.WAREHOUSE])
def test_team_page_hides_management_forms_from_non_owners(client, organization, role):
    client.force_login(member(organization, role))
    html = client.get(reverse("team", args=[organization.slug])).content.decode()
    assert reverse("team-invite", args=[organization.slug]) not in html
    assert "Who may do what" in html


def test_role_matrix_says_support_reads_and_answers_but_does_not_lock():
    assert role_can(Role.SUPPORT, "campaign.view")
    assert role_can(Role.SUPPORT, "tickets.answer")
    assert not role_can(Role.SUPPORT, "campaign.change")
    assert not role_can(Role.SUPPORT, "orders.lock")
    assert not role_can(None, "campaign.view")
    assert all(Role.OWNER in roles for roles in ROLE_MATRIX.values())


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        role_can(Role.OWNER, "campaign.teleport")
