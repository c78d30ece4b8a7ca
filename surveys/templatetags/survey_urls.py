"""`{% survey_url "survey-step" step="address" %}`: a backer page's address on
whichever root the request came in on (its own host name or /s/<slug>/)."""

from django import template

from surveys.backer_views import backer_reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def survey_url(context, name, **kwargs):
    request = context["request"]
    return backer_reverse(request, name, slug=context["campaign"].slug, **kwargs)


@register.filter
def as_money(amount, currency):
    """A Decimal of the quote as money in the page's language: "$31.00", "31,00 $"."""
    from djmoney.money import Money

    return Money(amount, currency)
