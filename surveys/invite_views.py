"""Invite pages: the back office's invites screen (figures, sending, the list) and
the backer's "I lost my link" and unsubscribe pages."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_can
from pledges.selectors import campaign_for

from .backer_views import LANGUAGE_SESSION_KEY, campaign_of, survey_languages
from .errors import LinkInvalid, SurveysError
from .links import invite_from_unsubscribe_token
from .models import SurveyInvite
from .navigation import survey_context
from .services import invites as invite_services
from .services.responses import survey_for
from .tasks import resend_survey_link, send_survey_invites

VIEW, SEND = "surveys.view", "surveys.send"
PER_PAGE = 50
ACTIVE = timedelta(minutes=2)
# filter → which invites it lists (test invites never)
FILTERS: dict[str, tuple[str, Q]] = {
    "all": ("All", Q()),
    "failed": ("Failed", Q(sent_at__isnull=True) & ~Q(send_error="")),
    "unsubscribed": ("Unsubscribed", Q(unsubscribed_at__isnull=False)),
    "not_opened": ("Sent, not opened", Q(sent_at__isnull=False, opened_at__isnull=True)),
}


# --- back office -------------------------------------------------------------


def _survey(request, slug, action):
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    survey = survey_for(campaign)
    survey.campaign = campaign
    return campaign, role, survey


def _progress(survey) -> dict:
    counts = invite_services.invite_counts(survey=survey)
    done = counts["sent"] + counts["failed"]
    counts["percent"] = round(100 * done / counts["invited"]) if counts["invited"] else 0
    last = counts["last_sent_at"]
    counts["sending"] = counts["waiting"] > 0
    # A batch goes out every minute while a send runs; quiet for longer = stopped.
    counts["active"] = counts["sending"] and last is not None and last >= timezone.now() - ACTIVE
    return counts


def _after_param(request) -> int:
    try:
        return max(0, int(request.GET.get("after", "")))
    except ValueError:
        return 0


@login_required
def invites(request, slug):
    """Figures, the sending buttons and progress, and the invites one page at a time."""
    campaign, role, survey = _survey(request, slug, VIEW)
    show = request.GET.get("show", "all")
    if show not in FILTERS:
        show = "all"
    after = _after_param(request)
    rows = (
        SurveyInvite.objects.filter(survey=survey, is_test=False)
        .filter(FILTERS[show][1])
        .select_related("backer", "response")
        .order_by("pk")
    )
    if after:
        rows = rows.filter(pk__gt=after)
    # One row more than shown tells whether there is a next page, without a count.
    page = list(rows[: PER_PAGE + 1])
    has_next = len(page) > PER_PAGE
    page = page[:PER_PAGE]
    context = survey_context(campaign, role, "survey-invites", survey=survey)
    context.update(
        progress=_progress(survey),
        can_send=role_can(role, SEND),
        is_live=survey.status == "live",
        can_test=survey.status in ("draft", "smoke_test"),
        invites=page,
        show=show,
        filters=[(key, label) for key, (label, _q) in FILTERS.items()],
        next_after=page[-1].pk if has_next else None,
        paged=bool(after),
    )
    return render(request, "surveys/invites/page.html", context)


@login_required
def invites_progress(request, slug):
    """The progress box, polled by htmx every 2 s while invites are being sent."""
    campaign, _role, survey = _survey(request, slug, VIEW)
    return render(
        request,
        "surveys/invites/_progress.html",
        {"campaign": campaign, "survey": survey, "progress": _progress(survey)},
    )


@login_required
@require_POST
def invite_and_send(request, slug):
    """Invite every eligible backer and start sending at the survey's pace."""
    campaign, _role, survey = _survey(request, slug, SEND)
    try:
        # Each batch of invites commits on its own (create_invites); the task
        # starts once they are all in.
        made = invite_services.create_invites(survey=survey)
        transaction.on_commit(lambda: send_survey_invites.delay(survey.pk))
    except SurveysError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{made} new invites made; sending at {survey.send_per_minute} emails a minute.",
        )
    return redirect("survey-invites", campaign.slug)


@login_required
@require_POST
def retry_failed(request, slug):
    """Queue the failed invites again and send them."""
    campaign, _role, survey = _survey(request, slug, SEND)
    try:
        count = invite_services.retry_failed(survey=survey)
        transaction.on_commit(lambda: send_survey_invites.delay(survey.pk))
    except SurveysError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{count} failed invites queued again.")
    return redirect("survey-invites", campaign.slug)


@login_required
@require_POST
def send_test(request, slug):
    """The smoke test: every team member gets a test invite."""
    campaign, _role, survey = _survey(request, slug, SEND)
    try:
        sent = invite_services.send_test_invites(survey=survey)
    except SurveysError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Test invites sent to {sent} team members.")
    return redirect("survey-invites", campaign.slug)


# --- backer pages ------------------------------------------------------------


class LostLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("The address you pledged with."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def _language(request, survey) -> str:
    offered = [code for code, _name in survey_languages(survey)]
    chosen = request.session.get(LANGUAGE_SESSION_KEY)
    if chosen in offered:
        return chosen
    preferred = translation.get_language_from_request(request)
    return preferred if preferred in offered else offered[0]


def _backer_page(request, campaign, survey, template, context, *, status=200):
    language = _language(request, survey)
    context.update(
        campaign=campaign,
        survey=survey,
        languages=survey_languages(survey),
        language=language,
    )
    with translation.override(language):
        response = render(request, template, context, status=status)
    response.headers["Content-Language"] = language
    return response


@require_http_methods(["GET", "POST"])
def lost_link(request, slug=None):
    """Ask for the survey link again. Every valid address gets the same answer."""
    campaign, survey = campaign_of(request, slug)
    with translation.override(_language(request, survey)):
        form = LostLinkForm(request.POST or None)
        valid = request.method == "POST" and form.is_valid()
    if valid:
        email = form.cleaned_data["email"]
        transaction.on_commit(lambda: resend_survey_link.delay(survey.pk, email))
        return _backer_page(request, campaign, survey, "surveys/invites/lost_link_sent.html", {})
    return _backer_page(
        request,
        campaign,
        survey,
        "surveys/invites/lost_link.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


# Mail clients unsubscribe with a bare POST (RFC 8058) and no CSRF token; the
# signed token is the proof, and unsubscribing twice changes nothing.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token, slug=None):
    """GET asks to confirm; POST (the button, or a mail client's one-click) unsubscribes."""
    campaign, survey = campaign_of(request, slug)
    try:
        invite = invite_from_unsubscribe_token(token, survey=survey)
    except LinkInvalid as exc:
        return _backer_page(
            request,
            campaign,
            survey,
            "surveys/invites/unsubscribe_invalid.html",
            {"message": exc.message},
            status=403,
        )
    if request.method == "POST":
        invite_services.unsubscribe(invite=invite)
        return _backer_page(request, campaign, survey, "surveys/invites/unsubscribed.html", {})
    return _backer_page(
        request,
        campaign,
        survey,
        "surveys/invites/unsubscribe.html",
        {"invite": invite, "done": invite.unsubscribed_at is not None},
    )
