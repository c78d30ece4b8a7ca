"""Back-office pages that design a campaign's survey: settings and status,
custom questions, late-pledge prices, preview as a backer, completion figures."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404
from django.http.request import validate_host
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import role_can
from config.forms import add_refusal
from pledges.exports import csv_response
from pledges.filters import BackerFilter
from pledges.models import Backer
from pledges.selectors import backers_with_pledge, campaign_for

from . import stats as survey_stats
from .design_forms import (
    BackerSearchForm,
    MoveForm,
    PreviewForm,
    QuestionForm,
    StatusForm,
    SurveySettingsForm,
    late_reward_formset,
    late_reward_initial,
)
from .errors import SurveysError
from .links import invite_token, survey_root
from .models import CHOICE_KINDS, Question, QuestionKind, Survey, SurveyStatus
from .navigation import survey_context
from .services import design
from .services.responses import survey_for

VIEW, CHANGE = "surveys.view", "surveys.change"
INVALID, CONFLICT = 400, 409
PREVIEW_RESULTS = 25
NON_RESPONDERS_PAGE = 50
CSV_CHUNK = 2000

# (from, to) → (button, what it means)
TRANSITION_LABELS = {
    (SurveyStatus.DRAFT, SurveyStatus.SMOKE_TEST): (
        "Start the smoke test",
        "Send test invites to the team and try the survey end to end.",
    ),
    (SurveyStatus.SMOKE_TEST, SurveyStatus.DRAFT): (
        "Back to draft",
        "Stop the smoke test and keep designing.",
    ),
    (SurveyStatus.SMOKE_TEST, SurveyStatus.LIVE): (
        "Go live",
        "Backers can open their links; invites can be sent. Needs a locked SKU map.",
    ),
    (SurveyStatus.LIVE, SurveyStatus.CLOSED): (
        "Close the survey",
        "Backers can still look at their answers but no longer change them.",
    ),
    (SurveyStatus.CLOSED, SurveyStatus.LIVE): (
        "Reopen",
        "Backers can change their answers again (locked orders stay locked).",
    ),
}


def _survey_page(request, slug: str, action: str) -> tuple:
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    survey = survey_for(campaign)
    survey.campaign = campaign  # already loaded with its organization
    return campaign, role, survey


# --- settings and status -------------------------------------------------------------


def _settings_page(request, campaign, role, survey, *, form=None, status_error=None, status=200):
    can_change = role_can(role, CHANGE)
    transitions = [
        (target, *TRANSITION_LABELS[(survey.status, target)])
        for target in design.allowed_statuses(survey)
    ]
    context = survey_context(campaign, role, "survey-settings", survey=survey)
    context.update(
        form=form or SurveySettingsForm(survey=survey, read_only=not can_change),
        can_change=can_change,
        transitions=transitions,
        status_error=status_error,
        map_not_locked=campaign.sku_map_locked_at is None,
        public_address=survey_root(survey),
        host_allowed=bool(survey.host_name)
        and validate_host(survey.host_name, settings.ALLOWED_HOSTS),
        can_edit_campaign=role_can(role, "campaign.change"),
    )
    return render(request, "surveys/design/settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def survey_settings(request, slug):
    action = CHANGE if request.method == "POST" else VIEW
    campaign, role, survey = _survey_page(request, slug, action)
    if request.method != "POST":
        return _settings_page(request, campaign, role, survey)
    form = SurveySettingsForm(request.POST, survey=survey)
    if form.is_valid():
        try:
            design.update_survey(survey=survey, actor=request.user, **form.survey_fields())
        except SurveysError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Survey settings saved.")
            return redirect("survey-settings", campaign.slug)
    return _settings_page(request, campaign, role, survey, form=form, status=INVALID)


@login_required
@require_POST
def survey_status(request, slug):
    campaign, role, survey = _survey_page(request, slug, CHANGE)
    form = StatusForm(request.POST)
    if not form.is_valid():
        error = design.StatusChangeRefused("Choose a status to move the survey to.")
        return _settings_page(request, campaign, role, survey, status_error=error, status=INVALID)
    try:
        design.change_status(survey=survey, status=form.cleaned_data["status"], actor=request.user)
    except design.SkuMapNotLocked as exc:
        return _settings_page(request, campaign, role, survey, status_error=exc, status=CONFLICT)
    except SurveysError as exc:
        return _settings_page(request, campaign, role, survey, status_error=exc, status=INVALID)
    messages.success(request, f"The survey is now {survey.get_status_display().lower()}.")
    return redirect("survey-settings", campaign.slug)


# --- questions -------------------------------------------------------------------


def _question(survey: Survey, question_id: int) -> Question:
    question = get_object_or_404(Question, pk=question_id, survey=survey)
    question.survey = survey
    return question


def _translated(question: Question, code: str) -> bool:
    """Every text the question shows has its words in `code`."""
    own = (question.translations or {}).get(code) or {}
    return bool(
        own.get("label")
        and (own.get("help_text") or not question.help_text)
        and (own.get("options") or not question.options)
    )


@login_required
def question_list(request, slug):
    campaign, role, survey = _survey_page(request, slug, VIEW)
    questions = list(survey.questions.prefetch_related("tiers").order_by("position", "pk"))
    extra = [code for code in survey.languages if code != "en"]
    for question in questions:
        question.untranslated = [code for code in extra if not _translated(question, code)]
    context = survey_context(campaign, role, "survey-questions", survey=survey)
    context.update(
        questions=questions,
        can_change=role_can(role, CHANGE),
        languages=dict(settings.LANGUAGES),
    )
    return render(request, "surveys/design/questions.html", context)


def _question_form_page(request, campaign, role, survey, form, *, question=None, status=200):
    context = survey_context(campaign, role, "survey-questions", survey=survey)
    context.update(form=form, question=question, choice_kinds=CHOICE_KINDS)
    return render(request, "surveys/design/question_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def question_create(request, slug):
    campaign, role, survey = _survey_page(request, slug, CHANGE)
    if request.method != "POST":
        form = QuestionForm(survey=survey, initial={"kind": QuestionKind.SHORT_TEXT})
        return _question_form_page(request, campaign, role, survey, form)
    form = QuestionForm(request.POST, survey=survey)
    if form.is_valid():
        try:
            design.create_question(survey=survey, actor=request.user, **form.question_fields())
        except SurveysError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Question added.")
            return redirect("survey-questions", campaign.slug)
    return _question_form_page(request, campaign, role, survey, form, status=INVALID)


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request, slug, question_id):
    action = CHANGE if request.method == "POST" else VIEW
    campaign, role, survey = _survey_page(request, slug, action)
    question = _question(survey, question_id)
    if request.method != "POST":
        form = QuestionForm(survey=survey, question=question)
        if not role_can(role, CHANGE):
            for field in form.fields.values():
                field.disabled = True
        return _question_form_page(request, campaign, role, survey, form, question=question)
    form = QuestionForm(request.POST, survey=survey, question=question)
    if form.is_valid():
        try:
            design.update_question(question=question, actor=request.user, **form.question_fields())
        except SurveysError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, "Question saved.")
            return redirect("survey-questions", campaign.slug)
    return _question_form_page(
        request, campaign, role, survey, form, question=question, status=INVALID
    )


@login_required
@require_POST
def question_delete(request, slug, question_id):
    campaign, role, survey = _survey_page(request, slug, CHANGE)
    question = _question(survey, question_id)
    design.delete_question(question=question, actor=request.user)
    messages.success(request, f"Question “{question.label}” deleted.")
    return redirect("survey-questions", campaign.slug)


@login_required
@require_POST
def question_move(request, slug, question_id):
    campaign, role, survey = _survey_page(request, slug, CHANGE)
    question = _question(survey, question_id)
    form = MoveForm(request.POST)
    if form.is_valid():
        design.move_question(
            question=question, direction=form.cleaned_data["direction"], actor=request.user
        )
    else:
        messages.error(request, "Move a question up or down.")
    return redirect(reverse("survey-questions", args=[campaign.slug]) + f"#question-{question.pk}")


# --- late pledges ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def late_rewards(request, slug):
    action = CHANGE if request.method == "POST" else VIEW
    campaign, role, survey = _survey_page(request, slug, action)
    can_change = role_can(role, CHANGE)
    rewards = list(campaign.rewards.order_by("minimum", "title", "pk"))
    by_pk = {reward.pk: reward for reward in rewards}
    FormSet = late_reward_formset(rows=len(rewards))
    status = 200
    if request.method == "POST":
        formset = FormSet(request.POST, prefix="late", form_kwargs={"rewards": by_pk})
        status = INVALID
        if formset.is_valid():
            try:
                result = design.save_late_rewards(
                    survey=survey, actor=request.user, rows=formset.rows(campaign)
                )
            except SurveysError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    f"Late pledge prices saved: {result.created} new, {result.updated} changed.",
                )
                return redirect("survey-late-rewards", campaign.slug)
    else:
        offers = {offer.reward_id: offer for offer in survey.late_rewards.all()}
        formset = FormSet(
            prefix="late",
            initial=late_reward_initial(rewards, offers),
            form_kwargs={"rewards": by_pk, "read_only": not can_change},
        )
    context = survey_context(campaign, role, "survey-late-rewards", survey=survey)
    context.update(
        formset=formset,
        lines=[(form.reward_obj(), form) for form in formset.forms],
        can_change=can_change,
    )
    return render(request, "surveys/design/late_rewards.html", context, status=status)


# --- preview -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def preview(request, slug):
    campaign, role, survey = _survey_page(request, slug, VIEW)
    if request.method == "POST":
        form = PreviewForm(request.POST)
        if not form.is_valid():
            raise Http404("No such backer.")
        backer = get_object_or_404(Backer, pk=form.cleaned_data["backer"], campaign=campaign)
        invite = design.start_preview(survey=survey, backer=backer, actor=request.user)
        return redirect(
            reverse("survey-open", kwargs={"slug": campaign.slug, "token": invite_token(invite)})
        )
    search = BackerSearchForm(request.GET or None)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    backers = []
    if query:
        found = BackerFilter({"q": query}, campaign=campaign).qs
        backers = list(
            backers_with_pledge(
                found.filter(merged_into__isnull=True, pledges__isnull=False).order_by(
                    "backer_number", "pk"
                )
            )[: PREVIEW_RESULTS + 1]
        )
    context = survey_context(campaign, role, "survey-preview", survey=survey)
    context.update(
        search=search,
        query=query,
        backers=backers[:PREVIEW_RESULTS],
        more=len(backers) > PREVIEW_RESULTS,
        test_invites=survey.invites.filter(is_test=True).count(),
    )
    return render(request, "surveys/design/preview.html", context)


# --- completion ------------------------------------------------------------------------


def _non_responder_filters(request, stats) -> dict:
    tier = request.GET.get("tier", "")
    if tier not in {row.key for row in stats.tiers}:
        tier = ""
    return {"tier": tier, "never_opened": request.GET.get("never_opened") == "1"}


@login_required
def completion(request, slug):
    campaign, role, survey = _survey_page(request, slug, VIEW)
    stats = survey_stats.completion_stats(survey=survey)
    filters = _non_responder_filters(request, stats)
    invites = survey_stats.non_responders(survey=survey, **filters)
    after = request.GET.get("after", "")
    if after.isascii() and after.isdigit() and len(after) <= 18:
        invites = invites.filter(pk__gt=int(after))
    rows = list(
        invites.select_related("backer", "response").annotate(
            reward_title=F("backer__pledges__reward__title")
        )[: NON_RESPONDERS_PAGE + 1]
    )
    next_after = rows[NON_RESPONDERS_PAGE - 1].pk if len(rows) > NON_RESPONDERS_PAGE else None
    context = survey_context(campaign, role, "survey-stats", survey=survey)
    context.update(
        stats=stats,
        rows=rows[:NON_RESPONDERS_PAGE],
        next_after=next_after,
        paged=bool(after),
        filters=filters,
    )
    return render(request, "surveys/design/stats.html", context)


def _utc(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@login_required
def non_responders_csv(request, slug):
    campaign, role, survey = _survey_page(request, slug, VIEW)
    stats = survey_stats.completion_stats(survey=survey)
    invites = survey_stats.non_responders(survey=survey, **_non_responder_filters(request, stats))
    values = invites.values_list(
        "backer__backer_number",
        "backer__name",
        "email",
        "backer__pledges__reward__title",
        "sent_at",
        "opened_at",
        "response__steps_done",
        "reminders_sent",
        "unsubscribed_at",
    )

    def rows():
        yield [
            "Backer number",
            "Name",
            "Email",
            "Reward",
            "Invited at (UTC)",
            "Opened at (UTC)",
            "Steps saved",
            "Reminders sent",
            "Unsubscribed at (UTC)",
        ]
        for (
            number,
            name,
            email,
            reward,
            sent,
            opened,
            steps,
            reminders,
            unsubscribed,
        ) in values.iterator(chunk_size=CSV_CHUNK):
            yield [
                number,
                name,
                email,
                reward or "",
                _utc(sent),
                _utc(opened),
                # Started means a step saved (opening the link is "opened").
                len(steps or []),
                reminders,
                _utc(unsubscribed),
            ]

    return csv_response(rows(), filename=f"{campaign.slug}-survey-non-responders.csv")
