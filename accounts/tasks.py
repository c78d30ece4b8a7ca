from celery import shared_task

from . import emails


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: int) -> bool:
    """Send (once) the invitation email; True when this run sent it."""
    return emails.send_invitation(invitation_id=invitation_id)
