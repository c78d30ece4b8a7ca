from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Invitation
from .tokens import invitation_token


def invitation_url(invitation: Invitation) -> str:
    path = reverse("invitation-accept", args=[invitation_token(invitation)])
    return settings.SITE_URL.rstrip("/") + path


def send_invitation(*, invitation_id: int) -> bool:
    """Email the invitation link once: a retried task finds `sent_at` and stops."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organization", "invited_by")
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None or invitation.sent_at or not invitation.is_pending:
            return False
        context = {
            "invitation": invitation,
            "url": invitation_url(invitation),
            "max_age_days": settings.INVITATION_MAX_AGE.days,
        }
        send_mail(
            subject=f"You are invited to {invitation.organization.name} on Pledgeport",
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invitation.email],
        )
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["sent_at"])
    return True
