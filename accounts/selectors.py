from django.db.models import QuerySet

from .models import Membership, Organization
from .permissions import role_can


def organizations_for(*, user) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user)


def membership_for(*, user, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def role_of(*, user, organization: Organization) -> str | None:
    membership = membership_for(user=user, organization=organization)
    return membership.role if membership else None


def user_can(*, user, organization: Organization, action: str) -> bool:
    return role_can(role_of(user=user, organization=organization), action)


def organizations_where(*, user, action: str) -> list[Organization]:
    """Organizations in which the user's role allows `action`."""
    if not user.is_authenticated:
        return []
    memberships = Membership.objects.filter(user=user).select_related("organization")
    return [m.organization for m in memberships if role_can(m.role, action)]


def members_of(*, organization: Organization) -> QuerySet[Membership]:
    return organization.memberships.select_related("user").order_by("user__email")
