"""Celery entry points of locking (beat runs both): the notice before the lock date
and the lock itself once the date has passed. Thin and safe to run twice: the
notice is marked per order, and only ready orders lock."""

from celery import shared_task
from django.db import OperationalError

from .services import locking


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def send_lock_notices() -> int:
    return locking.send_lock_notices()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_due_locks() -> dict[str, int]:
    return {slug: result.locked for slug, result in locking.run_due_locks().items()}
