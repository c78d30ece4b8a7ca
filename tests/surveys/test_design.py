"""The survey design back office: settings and status, questions, late pledges."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Role
from surveys.middleware import host_table
from surveys.models import LateReward, Question, Survey, SurveyStatus
from surveys.services.design import (
    HostNameTaken,
    LateRewardInvalid,
    LateRewardRow,
    QuestionInvalid,
    QuestionText,
    SkuMapNotLocked,
    StatusChangeRefused,
    SurveySettingsInvalid,
    change_status,
    create_question,
    delete_question,
    move_question,
    normalize_host_name,
    parse_reminder_days,
    save_late_rewards,
    update_question,
    update_survey,
)
from surveys.services.responses import survey_for
from tests.factories import CampaignFactory, QuestionFactory, RewardFactory, UserFactory

from .conftest import login

# Every page of the survey design a viewer can open (GET), with its kwargs.
PAGES = [
    "survey-settings",
    "survey-questions",
    "survey-late-rewards",
    "survey-preview",
    "survey-stats",
]


@pytest.fixture
def survey(campaign):
    return survey_for(campaign)


@pytest.fixture
def locked_map(campaign):
    campaign.sku_map_locked_at = timezone.now()
    campaign.save(update_fields=["sku_map_locked_at"])
    return campaign


def _settings_data(**changes):
    data = {
        "languages": ["en"],
        "host_name": "",
        "link_max_age_days": "120",
        "reminder_days": "3, 7, 14",
        "reminder_weekly": "on",
        "reminder_limit": "6",
        "send_per_minute": "300",
        "phone_policy": "optional",
        "bonus_support_is_credit": "on",
        "intro_de": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _question_data(**changes):
    data = {"kind": "short_text", "label": "Name to print in the credits", "help_text": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- who may see and change what ------------------------------------------------------


@pytest.mark.parametrize("url_name", PAGES)
def test_support_sees_every_design_page(client, organization, survey, url_name):
    login(client, organization, Role.SUPPORT)
    response = client.get(reverse(url_name, args=[survey.campaign.slug]))
    assert response.status_code == 200


@pytest.mark.parametrize("url_name", PAGES)
def test_warehouse_role_cannot_see_design_pages(client, organization, survey, url_name):
    login(client, organization, Role.WAREHOUSE)
    response = client.get(reverse(url_name, args=[survey.campaign.slug]))
    assert response.status_code == 403


@pytest.mark.parametrize("url_name", PAGES)
def test_outsider_gets_404_on_design_pages(outsider_client, survey, url_name):
    response = outsider_client.get(reverse(url_name, args=[survey.campaign.slug]))
    assert response.status_code == 404


def test_support_cannot_save_settings(client, organization, survey):
    login(client, organization, Role.SUPPORT)
    response = client.post(
        reverse("survey-settings", args=[survey.campaign.slug]),
        _settings_data(link_max_age_days="30"),
    )
    assert response.status_code == 403
    survey.refresh_from_db()
    assert survey.link_max_age_days == 120


def test_support_cannot_change_the_status(client, organization, survey):
    login(client, organization, Role.SUPPORT)
    response = client.post(
        reverse("survey-status", args=[survey.campaign.slug]), {"status": "smoke_test"}
    )
    assert response.status_code == 403
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.DRAFT


def test_support_cannot_add_a_question(client, organization, survey):
    login(client, organization, Role.SUPPORT)
    url = reverse("survey-question-create", args=[survey.campaign.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, _question_data()).status_code == 403
    assert not Question.objects.exists()


def test_support_cannot_save_late_prices(client, organization, survey, reward):
    login(client, organization, Role.SUPPORT)
    response = client.post(
        reverse("survey-late-rewards", args=[survey.campaign.slug]),
        _late_data([(reward, "80.00", "", False, True)]),
    )
    assert response.status_code == 403
    assert not LateReward.objects.exists()


def test_support_sees_settings_without_a_save_button(client, organization, survey):
    login(client, organization, Role.SUPPORT)
    page = client.get(reverse("survey-settings", args=[survey.campaign.slug])).content.decode()
    assert "Save settings" not in page
    assert "can see these settings but not change them" in page


def test_stage_menu_lists_the_survey_for_roles_that_may_see_it(client, organization, campaign):
    survey_url = reverse("survey-settings", args=[campaign.slug])
    login(client, organization, Role.SUPPORT)
    overview = reverse("campaign-overview", args=[campaign.slug])
    assert survey_url in client.get(overview).content.decode()
    login(client, organization, Role.WAREHOUSE)
    assert survey_url not in client.get(overview).content.decode()


def test_survey_menu_links_every_survey_page(owner_client, survey):
    page = owner_client.get(reverse("survey-settings", args=[survey.campaign.slug]))
    html = page.content.decode()
    for url_name in [*PAGES, "survey-invites"]:
        assert reverse(url_name, args=[survey.campaign.slug]) in html


# --- status -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("draft", "smoke_test"),
        ("smoke_test", "draft"),
        ("smoke_test", "live"),
        ("live", "closed"),
        ("closed", "live"),
    ],
)
def test_allowed_status_moves(survey, owner, locked_map, start, target):
    Survey.objects.filter(pk=survey.pk).update(status=start)
    survey.refresh_from_db()
    change_status(survey=survey, status=target, actor=owner)
    survey.refresh_from_db()
    assert survey.status == target


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("draft", "live"),
        ("draft", "closed"),
        ("smoke_test", "closed"),
        ("live", "draft"),
        ("live", "smoke_test"),
        ("closed", "draft"),
        ("live", "live"),
    ],
)
def test_status_moves_outside_the_table_are_refused(survey, owner, locked_map, start, target):
    Survey.objects.filter(pk=survey.pk).update(status=start)
    survey.refresh_from_db()
    with pytest.raises(StatusChangeRefused) as refused:
        change_status(survey=survey, status=target, actor=owner)
    assert refused.value.code == "survey_status_refused"
    survey.refresh_from_db()
    assert survey.status == start


def test_going_live_is_refused_while_the_sku_map_is_open(survey, owner):
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.SMOKE_TEST)
    survey.refresh_from_db()
    with pytest.raises(SkuMapNotLocked) as refused:
        change_status(survey=survey, status=SurveyStatus.LIVE, actor=owner)
    assert refused.value.code == "sku_map_not_locked"
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.SMOKE_TEST
    assert survey.opened_at is None


def test_go_live_page_links_to_the_map_check_when_the_map_is_open(owner_client, survey):
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.SMOKE_TEST)
    slug = survey.campaign.slug
    response = owner_client.post(reverse("survey-status", args=[slug]), {"status": "live"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "SKU map is open" in html
    assert reverse("sku-map-check", args=[slug]) in html


def test_going_live_sets_opened_at_once(survey, owner, locked_map):
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.SMOKE_TEST)
    survey.refresh_from_db()
    change_status(survey=survey, status=SurveyStatus.LIVE, actor=owner)
    first = survey.opened_at
    change_status(survey=survey, status=SurveyStatus.CLOSED, actor=owner)
    change_status(survey=survey, status=SurveyStatus.LIVE, actor=owner)
    survey.refresh_from_db()
    assert first is not None
    assert survey.opened_at == first


def test_status_button_moves_the_survey_and_says_so(owner_client, survey):
    response = owner_client.post(
        reverse("survey-status", args=[survey.campaign.slug]), {"status": "smoke_test"}, follow=True
    )
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.SMOKE_TEST
    assert "now smoke test" in response.content.decode().lower()


def test_unknown_status_is_refused(owner_client, survey):
    response = owner_client.post(
        reverse("survey-status", args=[survey.campaign.slug]), {"status": "archived"}
    )
    assert response.status_code == 400
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.DRAFT


def test_settings_page_offers_only_the_allowed_moves(owner_client, survey):
    html = owner_client.get(reverse("survey-settings", args=[survey.campaign.slug])).content
    assert b"Start the smoke test" in html
    assert b"Go live" not in html and b"Close the survey" not in html


# --- settings ------------------------------------------------------------------------------


def test_settings_form_saves_every_setting(owner_client, survey):
    response = owner_client.post(
        reverse("survey-settings", args=[survey.campaign.slug]),
        _settings_data(
            languages=["en", "de"],
            intro_de="Willkommen!",
            host_name="Pledge.Example.com",
            link_max_age_days="60",
            reminder_days="2, 5",
            reminder_weekly=None,
            reminder_limit="4",
            send_per_minute="120",
            phone_policy="required",
            bonus_support_is_credit=None,
            include_dropped="on",
            late_pledges_enabled="on",
        ),
    )
    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.languages == ["en", "de"]
    assert survey.texts == {"de": {"intro": "Willkommen!"}}
    assert survey.host_name == "pledge.example.com"
    assert survey.link_max_age_days == 60
    assert survey.reminder_days == [2, 5]
    assert survey.reminder_weekly is False
    assert (survey.reminder_limit, survey.send_per_minute) == (4, 120)
    assert survey.phone_policy == "required"
    assert survey.bonus_support_is_credit is False
    assert survey.include_dropped is True
    assert survey.late_pledges_enabled is True


def test_english_is_always_among_the_languages(owner_client, survey):
    url = reverse("survey-settings", args=[survey.campaign.slug])
    owner_client.post(url, _settings_data(languages=["de"]))
    survey.refresh_from_db()
    assert survey.languages == ["en", "de"]
    owner_client.post(url, _settings_data(languages=[]))
    survey.refresh_from_db()
    assert survey.languages == ["en"]


def test_unknown_language_is_refused(survey, owner):
    with pytest.raises(SurveySettingsInvalid) as refused:
        update_survey(survey=survey, actor=owner, languages=["en", "xx"])
    assert refused.value.field == "languages"


def test_intro_keeps_the_other_texts_of_the_language(survey, owner):
    Survey.objects.filter(pk=survey.pk).update(texts={"de": {"intro": "Alt", "thanks": "Danke"}})
    survey.refresh_from_db()
    update_survey(survey=survey, actor=owner, intros={"de": "Neu"})
    survey.refresh_from_db()
    assert survey.texts == {"de": {"intro": "Neu", "thanks": "Danke"}}


def test_english_intro_is_the_campaigns_and_linked_there(owner_client, survey):
    html = owner_client.get(reverse("survey-settings", args=[survey.campaign.slug])).content
    assert reverse("campaign-settings", args=[survey.campaign.slug]).encode() in html
    assert b"intro_en" not in html


def test_settings_page_shows_the_public_address(owner_client, survey):
    html = owner_client.get(reverse("survey-settings", args=[survey.campaign.slug])).content
    assert reverse("survey-home", args=[survey.campaign.slug]).encode() in html


def test_host_name_shows_with_the_allowed_hosts_note(owner_client, survey, owner, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    update_survey(survey=survey, actor=owner, host_name="pledge.example.com")
    html = owner_client.get(reverse("survey-settings", args=[survey.campaign.slug])).content
    assert b"https://pledge.example.com/" in html or b"http://pledge.example.com/" in html
    assert b"<strong>not</strong> in <code>ALLOWED_HOSTS</code>" in html


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Pledge.Example.COM", "pledge.example.com"),
        (" pledge.example.com. ", "pledge.example.com"),
        ("back-it.studio.co.uk", "back-it.studio.co.uk"),
        ("spiele.bücher.de", "spiele.xn--bcher-kva.de"),
        ("", ""),
    ],
)
def test_host_names_are_normalised(typed, stored):
    assert normalize_host_name(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "https://pledge.example.com",
        "pledge.example.com/survey",
        "pledge",
        "-pledge.example.com",
        "pledge-.example.com",
        "pledge example.com",
        "pledge..example.com",
        "192.168.0.1",
        "pledge.example.com:8000",
        "a" * 64 + ".example.com",
        "pledge_port.example.com",
    ],
)
def test_malformed_host_names_are_refused(survey, owner, typed):
    with pytest.raises(SurveySettingsInvalid) as refused:
        update_survey(survey=survey, actor=owner, host_name=typed)
    assert refused.value.field == "host_name"


def test_pledgeports_own_host_is_refused(survey, owner, settings):
    settings.SITE_URL = "https://app.pledgeport.example"
    with pytest.raises(SurveySettingsInvalid):
        update_survey(survey=survey, actor=owner, host_name="app.pledgeport.example")


def test_host_name_is_unique_across_surveys(survey, owner, organization):
    other = survey_for(CampaignFactory(organization=organization))
    update_survey(survey=other, actor=owner, host_name="pledge.example.com")
    with pytest.raises(HostNameTaken) as refused:
        update_survey(survey=survey, actor=owner, host_name="PLEDGE.example.com")
    assert refused.value.code == "host_name_taken"
    survey.refresh_from_db()
    assert survey.host_name == ""


def test_taken_host_name_shows_next_to_the_field(owner_client, survey, owner, organization):
    other = survey_for(CampaignFactory(organization=organization))
    update_survey(survey=other, actor=owner, host_name="pledge.example.com")
    response = owner_client.post(
        reverse("survey-settings", args=[survey.campaign.slug]),
        _settings_data(host_name="pledge.example.com"),
    )
    assert response.status_code == 400
    assert "already uses this host name" in response.context["form"].errors["host_name"][0]


def test_changing_the_host_name_forgets_the_cached_host_table(
    survey, owner, django_capture_on_commit_callbacks
):
    assert "pledge.example.com" not in host_table()  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        update_survey(survey=survey, actor=owner, host_name="pledge.example.com")
    assert host_table()["pledge.example.com"] == survey.campaign.slug


@pytest.mark.parametrize(
    ("typed", "days"),
    [("3, 7, 14", [3, 7, 14]), ("1", [1]), (" 2 ,10 ", [2, 10]), ("", []), ("  ", [])],
)
def test_reminder_days_are_parsed(typed, days):
    assert parse_reminder_days(typed) == days


@pytest.mark.parametrize(
    "typed", ["7, 3", "3, 3", "0", "-1", "3, x", "3; 7", "3,,7", "1.5", "366", "٣"]
)
def test_bad_reminder_days_are_refused(typed):
    with pytest.raises(SurveySettingsInvalid) as refused:
        parse_reminder_days(typed)
    assert refused.value.field == "reminder_days"


@given(st.lists(st.integers(min_value=1, max_value=365), unique=True, max_size=12))
def test_ascending_reminder_days_survive_a_round_trip(days):
    days = sorted(days)
    assert parse_reminder_days(", ".join(str(day) for day in days)) == days


def test_reminder_day_error_shows_next_to_the_field(owner_client, survey):
    response = owner_client.post(
        reverse("survey-settings", args=[survey.campaign.slug]),
        _settings_data(reminder_days="14, 7"),
    )
    assert response.status_code == 400
    assert "ascending" in response.context["form"].errors["reminder_days"][0]
    survey.refresh_from_db()
    assert survey.reminder_days == [3, 7, 14]


def test_every_malformed_setting_is_shown_at_once(owner_client, survey):
    response = owner_client.post(
        reverse("survey-settings", args=[survey.campaign.slug]),
        _settings_data(host_name="https://bad host", reminder_days="7, 3"),
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"host_name", "reminder_days"}


def test_link_lifetime_below_a_day_is_refused(owner_client, survey):
    response = owner_client.post(
        reverse("survey-settings", args=[survey.campaign.slug]),
        _settings_data(link_max_age_days="0"),
    )
    assert response.status_code == 400
    assert "link_max_age_days" in response.context["form"].errors


# --- questions --------------------------------------------------------------------------


def test_add_a_choice_question_for_some_tiers(owner_client, survey, reward):
    response = owner_client.post(
        reverse("survey-question-create", args=[survey.campaign.slug]),
        _question_data(
            kind="single_choice",
            label="T-shirt size",
            options="S\nM\n\nL\n",
            required="on",
            tiers=[reward.pk],
        ),
    )
    assert response.status_code == 302
    question = Question.objects.get(survey=survey)
    assert question.options == ["S", "M", "L"]
    assert question.required is True
    assert list(question.tiers.all()) == [reward]


@pytest.mark.parametrize("options", ["", "Only one"])
def test_choice_question_needs_two_options(owner_client, survey, options):
    response = owner_client.post(
        reverse("survey-question-create", args=[survey.campaign.slug]),
        _question_data(kind="multi_choice", options=options),
    )
    assert response.status_code == 400
    assert "options" in response.context["form"].errors
    assert not Question.objects.exists()


@pytest.mark.parametrize("kind", ["short_text", "long_text", "checkbox", "number", "date"])
def test_options_are_refused_for_other_kinds(owner_client, survey, kind):
    response = owner_client.post(
        reverse("survey-question-create", args=[survey.campaign.slug]),
        _question_data(kind=kind, options="A\nB"),
    )
    assert response.status_code == 400
    assert "options" in response.context["form"].errors


def test_an_option_may_appear_only_once(survey, owner):
    with pytest.raises(QuestionInvalid) as refused:
        create_question(
            survey=survey, actor=owner, kind="single_choice", label="Size", options=["M", "m"]
        )
    assert refused.value.field == "options"


def test_tiers_of_another_campaign_are_refused(survey, owner, organization):
    foreign = RewardFactory(campaign=CampaignFactory(organization=organization))
    with pytest.raises(QuestionInvalid) as refused:
        create_question(survey=survey, actor=owner, kind="number", label="Age", tiers=[foreign])
    assert refused.value.field == "tiers"


def test_form_offers_only_this_campaigns_tiers(owner_client, survey, reward, organization):
    foreign = RewardFactory(campaign=CampaignFactory(organization=organization))
    response = owner_client.post(
        reverse("survey-question-create", args=[survey.campaign.slug]),
        _question_data(tiers=[foreign.pk]),
    )
    assert response.status_code == 400
    assert "tiers" in response.context["form"].errors


def test_translations_are_stored_per_extra_language(owner_client, survey):
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "de"])
    owner_client.post(
        reverse("survey-question-create", args=[survey.campaign.slug]),
        _question_data(
            kind="single_choice",
            label="Colour",
            options="Red\nBlue",
            label_de="Farbe",
            help_text_de="",
            options_de="Rot\nBlau",
        ),
    )
    question = Question.objects.get(survey=survey)
    assert question.translations == {
        "de": {"label": "Farbe", "help_text": "", "options": ["Rot", "Blau"]}
    }
    assert question.text("de")["options"] == ["Rot", "Blau"]


def test_translated_options_must_match_the_english_ones(owner_client, survey):
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "de"])
    response = owner_client.post(
        reverse("survey-question-create", args=[survey.campaign.slug]),
        _question_data(kind="single_choice", label="Colour", options="Red\nBlue", options_de="Rot"),
    )
    assert response.status_code == 400
    assert "options_de" in response.context["form"].errors


def test_translation_fields_only_for_the_surveys_languages(owner_client, survey):
    url = reverse("survey-question-create", args=[survey.campaign.slug])
    assert b"label_de" not in owner_client.get(url).content
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "de"])
    assert b"label_de" in owner_client.get(url).content


def test_translation_for_a_language_the_survey_lacks_is_refused(survey, owner):
    with pytest.raises(QuestionInvalid):
        create_question(
            survey=survey,
            actor=owner,
            kind="short_text",
            label="Name",
            translations={"de": QuestionText(label="Name")},
        )


def test_editing_keeps_translations_of_languages_no_longer_offered(survey, owner):
    question = QuestionFactory(survey=survey, translations={"de": {"label": "Farbe"}})
    update_question(question=question, actor=owner, kind="short_text", label="Colour")
    question.refresh_from_db()
    assert question.label == "Colour"
    assert question.translations == {"de": {"label": "Farbe"}}


def test_edit_page_saves_the_question(owner_client, survey):
    question = QuestionFactory(survey=survey, label="Old")
    url = reverse("survey-question-edit", args=[survey.campaign.slug, question.pk])
    response = owner_client.post(url, _question_data(label="New", kind="number"))
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.label, question.kind) == ("New", "number")


def test_another_surveys_question_is_not_found(owner_client, survey, organization):
    other = survey_for(CampaignFactory(organization=organization))
    question = QuestionFactory(survey=other)
    url = reverse("survey-question-edit", args=[survey.campaign.slug, question.pk])
    assert owner_client.get(url).status_code == 404


def test_new_questions_go_last(survey, owner):
    first = create_question(survey=survey, actor=owner, kind="number", label="Age")
    second = create_question(survey=survey, actor=owner, kind="date", label="Birthday")
    assert (first.position, second.position) == (0, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_questions_added_at_once_each_get_their_own_position():
    survey = survey_for(CampaignFactory())
    actor = UserFactory()
    writers = 8
    start = threading.Barrier(writers)

    def add(n: int) -> None:
        try:
            start.wait()
            create_question(survey=survey, actor=actor, kind="number", label=f"Q{n}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert connection.vendor == "postgresql"
    positions = sorted(survey.questions.values_list("position", flat=True))
    assert positions == list(range(writers))


def _labels(survey):
    return list(survey.questions.order_by("position", "pk").values_list("label", flat=True))


def test_move_buttons_swap_neighbours(owner_client, survey, owner):
    for label in ("A", "B", "C"):
        create_question(survey=survey, actor=owner, kind="number", label=label)
    c = Question.objects.get(label="C")
    url = reverse("survey-question-move", args=[survey.campaign.slug, c.pk])
    owner_client.post(url, {"direction": "up"})
    assert _labels(survey) == ["A", "C", "B"]
    a = Question.objects.get(label="A")
    owner_client.post(
        reverse("survey-question-move", args=[survey.campaign.slug, a.pk]), {"direction": "down"}
    )
    assert _labels(survey) == ["C", "A", "B"]


def test_moving_the_first_question_up_changes_nothing(survey, owner):
    first = create_question(survey=survey, actor=owner, kind="number", label="A")
    create_question(survey=survey, actor=owner, kind="number", label="B")
    move_question(question=first, direction="up", actor=owner)
    assert _labels(survey) == ["A", "B"]


def test_deleting_a_question_closes_the_gap(owner_client, survey, owner):
    for label in ("A", "B", "C"):
        create_question(survey=survey, actor=owner, kind="number", label=label)
    b = Question.objects.get(label="B")
    owner_client.post(reverse("survey-question-delete", args=[survey.campaign.slug, b.pk]))
    assert list(survey.questions.values_list("label", "position")) == [("A", 0), ("C", 1)]


def test_delete_service_removes_the_question(survey, owner):
    question = QuestionFactory(survey=survey)
    delete_question(question=question, actor=owner)
    assert not Question.objects.exists()


def test_question_list_shows_tiers_and_missing_translations(owner_client, survey, reward):
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "de"])
    question = QuestionFactory(survey=survey, label="Engraving")
    question.tiers.set([reward])
    html = owner_client.get(reverse("survey-questions", args=[survey.campaign.slug])).content
    assert b"Engraving" in html and reward.title.encode() in html
    assert b"DE incomplete" in html


def test_untranslated_options_leave_the_translation_incomplete(owner_client, survey):
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "de"])
    QuestionFactory(
        survey=survey,
        kind="single_choice",
        options=["Red", "Blue"],
        translations={"de": {"label": "Farbe", "help_text": "", "options": []}},
    )
    html = owner_client.get(reverse("survey-questions", args=[survey.campaign.slug])).content
    assert b"DE incomplete" in html


# Measured on SQLite: host names (the middleware's table, cached a minute), session,
# user, membership, campaign, survey, questions, their tiers, header memberships = 9
# for any number of questions.
QUESTION_LIST_BOUND = 9


@pytest.mark.parametrize("count", [1, 12])
def test_question_list_query_count_is_constant(
    owner_client, survey, reward, count, django_assert_max_num_queries
):
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "de"])
    for position in range(count):
        question = QuestionFactory(survey=survey, position=position)
        question.tiers.set([reward])
    with django_assert_max_num_queries(QUESTION_LIST_BOUND):
        response = owner_client.get(reverse("survey-questions", args=[survey.campaign.slug]))
    assert response.status_code == 200


# --- late pledges ------------------------------------------------------------------------


def _late_data(rows):
    """rows: (reward, price, stock limit, shipping included, active)."""
    data = {
        "late-TOTAL_FORMS": str(len(rows)),
        "late-INITIAL_FORMS": str(len(rows)),
        "late-MIN_NUM_FORMS": "0",
        "late-MAX_NUM_FORMS": "1000",
    }
    for i, (reward, price, stock, shipping, active) in enumerate(rows):
        data[f"late-{i}-reward"] = str(reward.pk)
        data[f"late-{i}-price"] = price
        data[f"late-{i}-stock_limit"] = stock
        if shipping:
            data[f"late-{i}-shipping_included"] = "on"
        if active:
            data[f"late-{i}-is_active"] = "on"
    return data


def test_late_pledge_page_lists_every_reward_and_says_when_off(owner_client, survey, reward):
    deluxe = RewardFactory(campaign=survey.campaign, title="Deluxe")
    html = owner_client.get(reverse("survey-late-rewards", args=[survey.campaign.slug])).content
    assert reward.title.encode() in html and deluxe.title.encode() in html
    assert b"Late pledges are off" in html


def test_late_prices_are_saved_in_one_form(owner_client, survey, reward):
    deluxe = RewardFactory(campaign=survey.campaign, title="Deluxe")
    skipped = RewardFactory(campaign=survey.campaign, title="Digital")
    response = owner_client.post(
        reverse("survey-late-rewards", args=[survey.campaign.slug]),
        _late_data(
            [
                (reward, "69.00", "", True, True),
                (deluxe, "129.50", "200", False, False),
                (skipped, "", "", False, True),
            ]
        ),
    )
    assert response.status_code == 302
    core = LateReward.objects.get(reward=reward)
    assert core.price == Money("69.00", "USD")
    assert (core.stock_limit, core.shipping_included, core.is_active) == (None, True, True)
    late_deluxe = LateReward.objects.get(reward=deluxe)
    assert late_deluxe.price == Money("129.50", "USD")
    assert (late_deluxe.stock_limit, late_deluxe.is_active) == (200, False)
    assert not LateReward.objects.filter(reward=skipped).exists()


def test_late_prices_are_in_the_campaign_currency(client, organization):
    login(client, organization)
    campaign = CampaignFactory(organization=organization, currency="EUR")
    reward = RewardFactory(campaign=campaign)
    client.post(
        reverse("survey-late-rewards", args=[campaign.slug]),
        _late_data([(reward, "45.00", "", False, True)]),
    )
    assert LateReward.objects.get(reward=reward).price == Money("45.00", "EUR")


def test_saving_again_updates_the_late_reward(survey, owner, reward):
    save_late_rewards(
        survey=survey, actor=owner, rows=[LateRewardRow(reward=reward, price=Money(60, "USD"))]
    )
    result = save_late_rewards(
        survey=survey,
        actor=owner,
        rows=[LateRewardRow(reward=reward, price=Money(65, "USD"), is_active=False)],
    )
    assert (result.created, result.updated) == (0, 1)
    offer = LateReward.objects.get(reward=reward)
    assert offer.price.amount == Decimal("65.00") and offer.is_active is False


def test_a_reward_offered_late_keeps_its_price(survey, owner, reward):
    save_late_rewards(
        survey=survey, actor=owner, rows=[LateRewardRow(reward=reward, price=Money(60, "USD"))]
    )
    with pytest.raises(LateRewardInvalid):
        save_late_rewards(
            survey=survey, actor=owner, rows=[LateRewardRow(reward=reward, price=None)]
        )
    assert LateReward.objects.get(reward=reward).price == Money(60, "USD")


def test_negative_late_price_is_refused(owner_client, survey, reward):
    response = owner_client.post(
        reverse("survey-late-rewards", args=[survey.campaign.slug]),
        _late_data([(reward, "-5", "", False, True)]),
    )
    assert response.status_code == 400
    assert not LateReward.objects.exists()


def test_late_price_for_another_campaigns_reward_is_refused(owner_client, survey, organization):
    foreign = RewardFactory(campaign=CampaignFactory(organization=organization))
    response = owner_client.post(
        reverse("survey-late-rewards", args=[survey.campaign.slug]),
        _late_data([(foreign, "10.00", "", False, True)]),
    )
    assert response.status_code == 400
    assert not LateReward.objects.exists()


def test_late_price_in_another_currency_is_refused(survey, owner, reward):
    with pytest.raises(LateRewardInvalid):
        save_late_rewards(
            survey=survey, actor=owner, rows=[LateRewardRow(reward=reward, price=Money(9, "EUR"))]
        )
