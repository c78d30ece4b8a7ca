"""What the backer's survey pages show of their order: the invoices to download."""

from django import template

from ..selectors import backer_invoices_for

register = template.Library()


@register.inclusion_tag("orders/pay/_invoices.html", takes_context=True)
def backer_invoices(context, response):
    """Links to the invoices and credit notes of the order built from `response` (and
    of the order it was merged into)."""
    invoices = (
        list(backer_invoices_for(response=response).order_by("number"))
        if response is not None and response.pk and response.completed_at
        else []
    )
    return {
        "invoices": invoices,
        "request": context.get("request"),
        "campaign": context.get("campaign"),
    }
