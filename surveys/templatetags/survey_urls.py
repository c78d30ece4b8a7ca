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


# --- the catalog in the page's language (`texts`: the CatalogTexts _page puts in
# every backer page's context; missing or blank, the English original shows) ---


def _catalog_texts(texts):
    from surveys.services.catalog_texts import CatalogTexts

    return texts if isinstance(texts, CatalogTexts) else CatalogTexts()


@register.filter
def reward_title(reward, texts):
    """`{{ reward|reward_title:texts }}`: the reward's title in the page's language."""
    return _catalog_texts(texts).reward(reward.pk, reward.title)


@register.filter
def offer_name(offer, texts):
    """`{{ offer|offer_name:texts }}`: the add-on's name in the page's language."""
    return _catalog_texts(texts).offer(offer.pk, offer.name)


@register.filter
def offer_description(offer, texts):
    """`{{ offer|offer_description:texts }}`: the add-on's description in the page's language."""
    return _catalog_texts(texts).offer_description(offer.pk, offer.description)


@register.simple_tag
def survey_catalog_texts(survey, language):
    """`{% survey_catalog_texts survey language as texts %}`: the catalog texts for a
    template rendered outside a backer page (the late-pledge email)."""
    from surveys.services.catalog_texts import catalog_texts

    return catalog_texts(survey=survey, language=language)


@register.filter
def quote_line_name(line, texts):
    """`{{ line|quote_line_name:texts }}`: a quote line's add-on name in the page's language."""
    return _catalog_texts(texts).offer(line.offer_id, line.name)
