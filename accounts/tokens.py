"""Signed, expiring invitation links (no token table: the signature is the proof,
the Invitation row says whether it is still pending)."""

from django.conf import settings
from django.core import signing

from .errors import InvitationInvalid
from .models import Invitation

_SALT = "pledgeport.accounts.invitation"


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(
        {"invitation": invitation.pk, "email": invitation.email.lower()}, salt=_SALT
    )


def invitation_from_token(token: str) -> Invitation:
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.INVITATION_MAX_AGE.total_seconds())
    except signing.SignatureExpired as exc:
        raise InvitationInvalid("This invitation link has expired; ask for a new one.") from exc
    except signing.BadSignature as exc:
        raise InvitationInvalid("This invitation link is not valid.") from exc
    invitation = (
        Invitation.objects.select_related("organization").filter(pk=data.get("invitation")).first()
    )
    if invitation is None or invitation.email.lower() != data.get("email"):
        raise InvitationInvalid("This invitation link is not valid.")
    if invitation.revoked_at:
        raise InvitationInvalid("This invitation was withdrawn.")
    if invitation.accepted_at:
        raise InvitationInvalid("This invitation was already used; log in instead.")
    return invitation
