"""Gateway webhooks: verify the signature, hand the event to the payments service."""

from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .errors_payments import WebhookInvalid
from .payments.gateway import stripe_gateway
from .services.payments import handle_gateway_event


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events. 400 for a missing or forged signature or a body that is not
    an event; 200 once the event is handled, and for a replay (which does nothing).
    An error while handling is a 500: Stripe retries, the event was not recorded."""
    gateway = stripe_gateway()
    try:
        event = gateway.parse_webhook(request.body, request.headers.get("Stripe-Signature"))
    except WebhookInvalid as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain")
    handled = handle_gateway_event(gateway=gateway, event=event)
    return HttpResponse("ok" if handled else "already handled", content_type="text/plain")
