import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization, Role
from tests.factories import UserFactory


def test_create_organization_makes_the_owner_and_prints_a_login(db, capsys):
    call_command("create_organization", "Ääkkönen Games", "--owner", "Founder@Example.org")
    out = capsys.readouterr().out
    org = Organization.objects.get()
    assert org.slug == "aakkonen-games"
    membership = Membership.objects.get(organization=org)
    assert membership.role == Role.OWNER
    password = out.split("New login: Founder@example.org / ")[1].split()[0]
    assert membership.user.check_password(password)


def test_create_organization_reuses_an_existing_account(db, capsys):
    user = UserFactory(email="known@example.org")
    call_command("create_organization", "Second", "--owner", "KNOWN@example.org")
    assert Membership.objects.get(user=user).role == Role.OWNER
    assert "existing account" in capsys.readouterr().out


def test_create_organization_refuses_a_bad_email(db):
    with pytest.raises(CommandError, match="is not an email address"):
        call_command("create_organization", "X", "--owner", "nope")
    assert not Organization.objects.exists()
