"""The late-pledge store: public pages (no login, no magic link) that sell the
campaign's rewards at their late price while the survey is live.

Buying makes the visitor a backer and opens their survey in this session, the
way a magic link does; the survey then runs as for anyone (reward, choices,
add-ons, …, review with the reward's price due)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from config.client_ip import client_ip
from inventory import bom

from .backer_views import (
    _language,
    _page,
    backer_reverse,
    campaign_of,
    remember_invite,
)
from .models import LateReward
from .services import late_pledges
from .store_forms import LatePledgeForm

# An unconfirmed late pledge holds its unit for LATE_HOLD (late_pledges); one
# connection may make only a few an hour, so a script cannot hold a limited reward.
STORE_LIMIT_PER_HOUR = 5


def _within_store_limit(request, campaign) -> bool:
    key = f"surveys:store:{campaign.pk}:{client_ip(request)}"
    cache.add(key, 0, 3600)
    try:
        return cache.incr(key) <= STORE_LIMIT_PER_HOUR
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 3600)
        return True


def _open_store(request, slug):
    campaign, survey = campaign_of(request, slug)
    if not late_pledges.store_is_open(survey):
        raise Http404("This campaign takes no late pledges.")
    return campaign, survey


def _row(late: LateReward, catalog: bom.Catalog, left: dict[int, int]) -> dict:
    return {
        "late": late,
        "reward": late.reward,
        "lines": late_pledges.reward_contents(catalog=catalog, reward_id=late.reward_id),
        "left": left.get(late.pk),
    }


@require_GET
def store(request, slug=None):
    """The rewards on sale, with what is inside, the late price and the stock left."""
    campaign, survey = _open_store(request, slug)
    late_rewards = late_pledges.late_rewards_on_sale(survey=survey)
    catalog = bom.load_catalog(campaign=campaign.pk)
    left = late_pledges.late_stock_left(late_rewards=late_rewards)
    rows = [_row(late, catalog, left) for late in late_rewards]
    return _page(request, (campaign, survey), "surveys/store/store.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def store_reward(request, reward_id, slug=None):
    """One reward: who buys it (name, email, country); buying opens their survey."""
    campaign, survey = _open_store(request, slug)
    late = late_pledges.late_reward_on_sale(survey=survey, reward_id=reward_id)
    if late is None:
        raise Http404("This reward is not sold as a late pledge.")
    language = _language(request, survey, None)
    with translation.override(language):
        form = LatePledgeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            if not _within_store_limit(request, campaign):
                form.add_error(
                    None, _("Too many orders from this connection. Please try again later.")
                )
            else:
                try:
                    invite = late_pledges.create_late_pledge(
                        survey=survey,
                        reward=late.reward,
                        name=form.cleaned_data["name"],
                        email=form.cleaned_data["email"],
                        country=form.cleaned_data["country"],
                        language=language,
                    )
                except late_pledges.LatePledgeRefused as exc:
                    form.add_error(None, exc.message)
                else:
                    remember_invite(request, campaign, invite, language)
                    return redirect(backer_reverse(request, "survey-home", slug=campaign.slug))
    catalog = bom.load_catalog(campaign=campaign.pk)
    left = late_pledges.late_stock_left(late_rewards=[late])
    return _page(
        request,
        (campaign, survey),
        "surveys/store/reward.html",
        {**_row(late, catalog, left), "form": form},
        status=400 if request.method == "POST" else 200,
    )
