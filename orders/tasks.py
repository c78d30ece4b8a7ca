"""Celery entry points of the orders app: load ids, call one service, nothing else."""

from celery import shared_task
from django.db import DatabaseError

from .services import addresses


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),  # OSError: SMTP and network failures
    retry_backoff=True,
    retry_jitter=True,
    max_retries=6,
)
def validate_order_address(address_id: int) -> str | None:
    """Check one address version; idempotent per version (a checked one is left alone)."""
    address = addresses.validate_address(address_id=address_id)
    return address.status if address is not None else None


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),  # OSError: SMTP and network failures
    retry_backoff=True,
    retry_jitter=True,
    max_retries=6,
)
def send_fix_address_emails(address_ids: list[int]) -> int:
    """Email the backers of a batch of bad address versions over one mail connection;
    safe to run twice (each version's email goes once, a retry sends only the rest)."""
    return addresses.send_fix_address_emails(address_ids=address_ids)


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=6,
)
def build_order_for_response(response_id: int) -> int | None:
    """(Re)build the order of a completed survey response, or of one taken back to
    review (its order goes back to draft until the backer confirms again); a locked
    order is left as it is (the survey shows it read-only) and a test response has
    none. Safe to run twice."""
    from surveys.models import SurveyResponse

    from .errors import OrderLocked
    from .errors_build import SmokeTestResponse
    from .models import Order
    from .services.building import build_order

    response = (
        SurveyResponse.objects.filter(pk=response_id)
        .select_related("backer", "invite__survey")
        .first()
    )
    if response is None or response.is_test:
        return None
    if response.completed_at is None and not Order.objects.filter(response=response).exists():
        return None
    try:
        return build_order(response=response, actor="backer").pk
    except (OrderLocked, SmokeTestResponse):
        return None


@shared_task(acks_late=True)
def issue_missing_invoices_task(campaign_id: int) -> int:
    """Issue the invoice of every paid order of the campaign that has none (the back
    office's "Issue missing invoices"); progress goes to the page through the cache."""
    from pledges.models import Campaign

    from .services.invoices import run_issuing_job

    campaign = Campaign.objects.select_related("organization").filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    return run_issuing_job(campaign=campaign).issued


@shared_task(acks_late=True)
def reprice_orders_task(campaign_id: int) -> int:
    """Re-price the campaign's open orders (the tax page's "Re-price open orders");
    progress goes to the page through the cache."""
    from pledges.models import Campaign

    from .services.repricing import run_repricing_job

    campaign = Campaign.objects.select_related("organization").filter(pk=campaign_id).first()
    if campaign is None:
        return 0
    return run_repricing_job(campaign=campaign).changed
