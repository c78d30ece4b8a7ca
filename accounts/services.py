"""Team actions: organizations, invitations, roles. Every action is logged as a
MembershipEvent and refuses to leave an organization without an owner."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .errors import AlreadyMember, InvitationInvalid, LastOwner, NotAllowed
from .models import Invitation, Membership, MembershipEvent, Organization, Role
from .permissions import role_can

User = get_user_model()


def _require(*, actor, organization: Organization, action: str) -> None:
    if actor is None:
        return  # system actions (commands, seeding)
    membership = Membership.objects.filter(user=actor, organization=organization).first()
    if not role_can(membership.role if membership else None, action):
        raise NotAllowed("Your role does not allow this.")


def _log(*, organization, actor, action: str, email: str, **detail) -> None:
    MembershipEvent.objects.create(
        organization=organization, actor=actor, action=action, subject_email=email, detail=detail
    )


def unique_org_slug(name: str) -> str:
    base = slugify(name)[:70] or "org"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_organization(*, name: str, owner) -> Organization:
    """Create an organization with `owner` as its first owner."""
    with transaction.atomic():
        org = Organization.objects.create(name=name, slug=unique_org_slug(name))
        Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
        _log(organization=org, actor=owner, action="created", email=owner.email)
    return org


def invite_member(*, organization: Organization, email: str, role: str, actor) -> Invitation:
    """Invite `email` with `role`; the email goes out after commit (Celery task).

    Refuses someone who is already a member; a second invite to the same pending
    address replaces the first, so only the newest link works."""
    _require(actor=actor, organization=organization, action="team.manage")
    email = email.strip()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise AlreadyMember(f"{email} is already a member of {organization}.")
    with transaction.atomic():
        Invitation.objects.filter(
            organization=organization,
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            organization=organization, email=email, role=role, invited_by=actor
        )
        _log(organization=organization, actor=actor, action="invited", email=email, role=role)
        from .tasks import send_invitation_email

        transaction.on_commit(lambda: send_invitation_email.delay(invitation.pk))
    return invitation


def revoke_invitation(*, invitation: Invitation, actor) -> None:
    _require(actor=actor, organization=invitation.organization, action="team.manage")
    if not invitation.is_pending:
        raise InvitationInvalid("This invitation is no longer pending.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _log(
        organization=invitation.organization,
        actor=actor,
        action="invitation_revoked",
        email=invitation.email,
    )


def accept_invitation(
    *, invitation: Invitation, user=None, name: str = "", password: str = ""
) -> Membership:
    """Turn a pending invitation into a membership.

    A logged-in user accepts for themselves (their email must match); a new
    person gets an account with the password they chose."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_pending:
            raise InvitationInvalid("This invitation was already used or withdrawn.")
        if user is None:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise InvitationInvalid(
                    "An account with this email exists: log in first, then open the link again."
                )
            first, _, last = name.strip().partition(" ")
            username = invitation.email.lower()
            if User.objects.filter(username=username).exists():
                # An account whose user name is this address under another email.
                raise InvitationInvalid(
                    "An account already uses this address as its user name: log in first, "
                    "then open the link again."
                )
            user = User.objects.create_user(
                username=username,
                email=invitation.email,
                password=password,
                first_name=first,
                last_name=last,
            )
        elif user.email.lower() != invitation.email.lower():
            raise InvitationInvalid(
                f"This invitation is for {invitation.email}; you are logged in as {user.email}."
            )
        membership, created = Membership.objects.get_or_create(
            user=user, organization=invitation.organization, defaults={"role": invitation.role}
        )
        if not created:
            raise AlreadyMember("You are already a member of this organization.")
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        _log(
            organization=invitation.organization,
            actor=user,
            action="joined",
            email=user.email,
            role=invitation.role,
        )
    return membership


def _owners_left_without(membership: Membership) -> int:
    return (
        Membership.objects.filter(organization=membership.organization, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


def change_role(*, membership: Membership, role: str, actor) -> Membership:
    """Change a member's role; an organization always keeps at least one owner."""
    _require(actor=actor, organization=membership.organization, action="team.manage")
    if role not in Role.values:
        raise NotAllowed(f"Unknown role {role!r}.")
    with transaction.atomic():
        # Lock the organization's owner rows so two demotions cannot both pass.
        list(
            Membership.objects.select_for_update()
            .filter(organization=membership.organization, role=Role.OWNER)
            .order_by("pk")
        )
        membership.refresh_from_db()
        demoting_owner = membership.role == Role.OWNER and role != Role.OWNER
        if demoting_owner and _owners_left_without(membership) == 0:
            raise LastOwner("An organization needs at least one owner.")
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        _log(
            organization=membership.organization,
            actor=actor,
            action="role_changed",
            email=membership.user.email,
            before=before,
            after=role,
        )
    return membership


def remove_member(*, membership: Membership, actor) -> None:
    """Remove someone from the organization (never the last owner)."""
    _require(actor=actor, organization=membership.organization, action="team.manage")
    with transaction.atomic():
        list(
            Membership.objects.select_for_update()
            .filter(organization=membership.organization, role=Role.OWNER)
            .order_by("pk")
        )
        membership.refresh_from_db()
        if membership.role == Role.OWNER and _owners_left_without(membership) == 0:
            raise LastOwner("An organization needs at least one owner.")
        _log(
            organization=membership.organization,
            actor=actor,
            action="removed",
            email=membership.user.email,
            role=membership.role,
        )
        membership.delete()
