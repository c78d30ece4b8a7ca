import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.errors import AlreadyMember, InvitationInvalid, LastOwner
from accounts.models import Invitation, Membership, MembershipEvent, Role
from accounts.tokens import invitation_token
from tests.conftest import member
from tests.factories import TEST_PASSWORD, UserFactory


def _link_from_mail() -> str:
    assert len(mail.outbox) == 1
    match = re.search(r"http://\S+/accounts/invitation/(\S+)/", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return reverse("invitation-accept", args=[match.group(1)])


def test_owner_invites_by_email_and_the_invitee_sets_a_password(
    client, owner_client, organization, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("team-invite", args=[organization.slug]),
            {"email": "Nadia@Example.org", "role": Role.SUPPORT},
        )
    assert response.status_code == 302
    assert mail.outbox[0].to == ["Nadia@Example.org"]
    link = _link_from_mail()
    owner_client.logout()

    page = client.get(link)
    assert page.status_code == 200
    assert "Create account and join" in page.content.decode()
    response = client.post(
        link,
        {
            "name": "Nadia Ben Ali",
            "password1": "s3cure-enough-pass",
            "password2": "s3cure-enough-pass",
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.get(
        organization=organization, user__email__iexact="nadia@example.org"
    )
    assert membership.role == Role.SUPPORT
    assert membership.user.check_password("s3cure-enough-pass")
    # signed in straight away, and the link is spent
    assert client.get(reverse("campaign-list")).status_code == 200
    client.logout()
    assert client.get(link).status_code == 400


def test_invitee_password_mismatch_keeps_the_form_with_errors(client, organization, owner):
    invitation = Invitation.objects.create(
        organization=organization, email="a@x.org", role="manager"
    )
    link = reverse("invitation-accept", args=[invitation_token(invitation)])
    response = client.post(
        link, {"name": "Aki", "password1": "s3cure-enough-pass", "password2": "other-pass-123"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "The two passwords differ." in html
    assert 'value="Aki"' in html
    assert not Membership.objects.filter(user__email="a@x.org").exists()


def test_existing_user_joins_after_logging_in(client, organization):
    someone = UserFactory(email="known@example.org")
    invitation = Invitation.objects.create(
        organization=organization, email="known@example.org", role="manager"
    )
    link = reverse("invitation-accept", args=[invitation_token(invitation)])
    assert "Log in, then open this link again" in client.get(link).content.decode()
    client.force_login(someone)
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=someone, organization=organization).role == Role.MANAGER


def test_invitation_for_someone_else_is_refused(client, organization):
    invitation = Invitation.objects.create(
        organization=organization, email="them@example.org", role="owner"
    )
    client.force_login(UserFactory(email="me@example.org"))
    response = client.post(reverse("invitation-accept", args=[invitation_token(invitation)]))
    assert response.status_code == 400
    assert not Membership.objects.filter(organization=organization, role="owner").exists()


def test_tampered_link_is_refused(client, organization):
    invitation = Invitation.objects.create(organization=organization, email="a@x.org", role="owner")
    token = invitation_token(invitation)
    response = client.get(reverse("invitation-accept", args=[token[:-2] + "xx"]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_expired_link_is_refused(client, organization, settings):
    invitation = Invitation.objects.create(organization=organization, email="a@x.org", role="owner")
    token = invitation_token(invitation)
    settings.INVITATION_MAX_AGE = timedelta(seconds=-1)
    response = client.get(reverse("invitation-accept", args=[token]))
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_reinviting_replaces_the_older_link(
    organization, owner, django_capture_on_commit_callbacks
):
    first = services.invite_member(
        organization=organization, email="a@x.org", role="manager", actor=owner
    )
    second = services.invite_member(
        organization=organization, email="A@x.org", role="support", actor=owner
    )
    first.refresh_from_db()
    assert first.revoked_at is not None
    with pytest.raises(InvitationInvalid):
        from accounts.tokens import invitation_from_token

        invitation_from_token(invitation_token(first))
    assert second.is_pending


def test_inviting_a_member_again_is_refused(organization, owner):
    with pytest.raises(AlreadyMember):
        services.invite_member(
            organization=organization, email=owner.email.upper(), role="manager", actor=owner
        )


def test_owner_changes_a_role_and_it_is_logged(owner_client, organization, owner):
    person = member(organization, Role.SUPPORT)
    membership = Membership.objects.get(user=person)
    response = owner_client.post(
        reverse("team-member-role", args=[organization.slug, membership.pk]), {"role": Role.MANAGER}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER
    event = MembershipEvent.objects.get(action="role_changed")
    assert (event.actor, event.detail) == (owner, {"before": "support", "after": "manager"})


def test_owner_removes_a_member(owner_client, organization):
    person = member(organization, Role.WAREHOUSE)
    membership = Membership.objects.get(user=person)
    owner_client.post(reverse("team-member-remove", args=[organization.slug, membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert MembershipEvent.objects.filter(action="removed", subject_email=person.email).exists()


def test_last_owner_can_be_neither_demoted_nor_removed(owner_client, organization, owner):
    membership = Membership.objects.get(user=owner)
    response = owner_client.post(
        reverse("team-member-role", args=[organization.slug, membership.pk]),
        {"role": "support"},
        follow=True,
    )
    assert "at least one owner" in response.content.decode()
    with pytest.raises(LastOwner):
        services.remove_member(membership=membership, actor=owner)
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_remains(organization, owner):
    member(organization, Role.OWNER)
    membership = Membership.objects.get(user=owner)
    services.change_role(membership=membership, role=Role.MANAGER, actor=owner)
    assert Membership.objects.get(user=owner).role == Role.MANAGER


def test_invitation_email_is_sent_once(organization, owner):
    from accounts.emails import send_invitation

    invitation = Invitation.objects.create(organization=organization, email="a@x.org", role="owner")
    assert send_invitation(invitation_id=invitation.pk) is True
    assert send_invitation(invitation_id=invitation.pk) is False
    assert len(mail.outbox) == 1


def test_login_by_email_any_case(client, db):
    UserFactory(email="casey@example.org")
    response = client.post(
        reverse("login"), {"username": " Casey@Example.org ", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("campaign-list")


def test_login_is_locked_after_repeated_failures(client, db, settings):
    UserFactory(email="target@example.org")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse("login"), {"username": "target@example.org", "password": "wrong"}
        )
    # even the right password is refused now
    response = client.post(
        reverse("login"), {"username": "target@example.org", "password": TEST_PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_password_says_so_next_to_the_form(client, db):
    UserFactory(email="t@example.org")
    response = client.post(reverse("login"), {"username": "t@example.org", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct email and password" in response.content.decode()
