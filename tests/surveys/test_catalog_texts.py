"""The catalog in a survey's extra languages: the back-office page that translates
reward titles, choices, add-ons and regional editions, the service that stores
them, and the backer pages and store that show them."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Role
from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule
from surveys.models import LateReward, Survey
from surveys.services.catalog_texts import (
    CatalogTextInvalid,
    catalog_texts,
    save_catalog_texts,
)
from surveys.services.late_pledges import create_late_pledge
from surveys.services.responses import survey_for
from tests.factories import (
    AddOnOfferFactory,
    CampaignFactory,
    RewardFactory,
    SkuFactory,
    UserFactory,
)

from .backer_setup import build_world, link_path, step_path
from .conftest import login

PAGE_QUERY_BOUND = 15
SAVE_QUERY_BOUND = 30


def page_url(campaign) -> str:
    return reverse("survey-translations", args=[campaign.slug])


@pytest.fixture
def survey(campaign):
    survey = survey_for(campaign)
    survey.languages = ["en", "de"]
    survey.texts = {"de": {"intro": "Willkommen!"}}
    survey.save()
    survey.campaign = campaign
    return survey


@pytest.fixture
def actor(db):
    return UserFactory()


def _catalog(campaign, count: int, *, start: int = 0) -> list:
    """`count` rewards, each with a choice group of two options, an add-on with a
    choice group and a description, and a regional edition."""
    org = campaign.organization
    made = []
    for n in range(start, start + count):
        reward = RewardFactory(campaign=campaign, title=f"Tier {n}")
        red, blue = SkuFactory(organization=org), SkuFactory(organization=org)
        group = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name=f"Colour {n}")
        ChoiceOption.objects.create(group=group, label=f"Red {n}", sku=red, is_default=True)
        ChoiceOption.objects.create(group=group, label=f"Blue {n}", sku=blue)
        offer = AddOnOfferFactory(campaign=campaign, name=f"Mat {n}", description=f"Big mat {n}")
        offer_group = ChoiceGroup.objects.create(
            campaign=campaign, addon_offer=offer, name=f"Mat design {n}"
        )
        ChoiceOption.objects.create(group=offer_group, label=f"Forest {n}", sku=red)
        RegionalRule.objects.create(
            campaign=campaign,
            name=f"Edition {n}",
            countries=["DE"],
            from_sku=red,
            to_sku=blue,
            backer_can_override=True,
        )
        made.append((reward, group, offer))
    return made


# --- the selector backers' pages use -----------------------------------------------


def test_selector_gives_the_translation_or_the_english(campaign, survey, actor):
    core, deluxe = RewardFactory(campaign=campaign), RewardFactory(campaign=campaign)
    save_catalog_texts(
        survey=survey, language="de", texts={f"reward:{core.pk}": "Grundbox"}, actor=actor
    )
    texts = catalog_texts(survey=survey, language="de")

    assert texts.reward(core.pk, "Core box") == "Grundbox"
    assert texts.reward(deluxe.pk, "Deluxe box") == "Deluxe box"
    assert texts.option(core.pk, "Red") == "Red"


def test_selector_for_english_gives_the_originals(survey, actor):
    Survey.objects.filter(pk=survey.pk).update(
        texts={"de": {"catalog": {"reward:7": "Grundbox"}}, "en": {"catalog": {"reward:7": "X"}}}
    )
    survey.refresh_from_db()

    assert catalog_texts(survey=survey, language="en").reward(7, "Core box") == "Core box"


def test_selector_makes_no_query(survey, django_assert_num_queries):
    survey.texts = {"de": {"catalog": {"group:3": "Würfelfarbe"}}}
    with django_assert_num_queries(0):
        texts = catalog_texts(survey=survey, language="de")
        label = texts.group(3, "Dice colour")
    assert label == "Würfelfarbe"


# --- the service ---------------------------------------------------------------------


def test_saving_keeps_the_intro_of_the_language(campaign, survey, actor):
    reward = RewardFactory(campaign=campaign, title="Core box")
    save_catalog_texts(
        survey=survey, language="de", texts={f"reward:{reward.pk}": "Grundbox"}, actor=actor
    )
    survey.refresh_from_db()

    assert survey.texts["de"]["intro"] == "Willkommen!"
    assert survey.texts["de"]["catalog"] == {f"reward:{reward.pk}": "Grundbox"}


def test_every_kind_of_the_campaign_is_stored(campaign, survey, actor):
    [(reward, group, offer)] = _catalog(campaign, 1)
    option = group.options.first()
    rule = campaign.regional_rules.get()
    texts = {
        f"reward:{reward.pk}": "Stufe",
        f"group:{group.pk}": "Farbe",
        f"option:{option.pk}": "Rot",
        f"offer:{offer.pk}": "Spielmatte",
        f"offer_description:{offer.pk}": "Eine große Matte",
        f"rule:{rule.pk}": "Deutsche Ausgabe",
    }
    save_catalog_texts(survey=survey, language="de", texts=texts, actor=actor)
    survey.refresh_from_db()

    assert survey.texts["de"]["catalog"] == texts


def test_another_campaigns_reward_is_refused(campaign, survey, actor):
    other = RewardFactory(campaign=CampaignFactory(organization=campaign.organization))
    with pytest.raises(CatalogTextInvalid) as refused:
        save_catalog_texts(
            survey=survey, language="de", texts={f"reward:{other.pk}": "Fremd"}, actor=actor
        )
    assert refused.value.code == "catalog_text_invalid"
    assert refused.value.field == f"reward:{other.pk}"
    survey.refresh_from_db()
    assert "catalog" not in survey.texts["de"]


def test_another_campaigns_option_is_refused(campaign, survey, actor):
    other_campaign = CampaignFactory(organization=campaign.organization)
    [(_reward, group, _offer)] = _catalog(other_campaign, 1)
    option = group.options.first()
    with pytest.raises(CatalogTextInvalid):
        save_catalog_texts(
            survey=survey, language="de", texts={f"option:{option.pk}": "Rot"}, actor=actor
        )


def test_another_campaigns_offer_description_is_refused(campaign, survey, actor):
    offer = AddOnOfferFactory(campaign=CampaignFactory(organization=campaign.organization))
    with pytest.raises(CatalogTextInvalid):
        save_catalog_texts(
            survey=survey,
            language="de",
            texts={f"offer_description:{offer.pk}": "Fremd"},
            actor=actor,
        )


@pytest.mark.parametrize("key", ["stretch_goal:1", "reward", "reward:abc", "reward:-1"])
def test_unknown_keys_are_refused(survey, actor, key):
    with pytest.raises(CatalogTextInvalid):
        save_catalog_texts(survey=survey, language="de", texts={key: "Text"}, actor=actor)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_english_and_languages_the_survey_does_not_offer_are_refused(
    campaign, survey, actor, language
):
    reward = RewardFactory(campaign=campaign)
    with pytest.raises(CatalogTextInvalid) as refused:
        save_catalog_texts(
            survey=survey, language=language, texts={f"reward:{reward.pk}": "Box"}, actor=actor
        )
    assert refused.value.field == "language"


def test_texts_are_stripped_and_empty_ones_dropped(campaign, survey, actor):
    first, second = RewardFactory(campaign=campaign), RewardFactory(campaign=campaign)
    texts = {f"reward:{first.pk}": "  Grundbox \n", f"reward:{second.pk}": "   "}
    save_catalog_texts(survey=survey, language="de", texts=texts, actor=actor)
    survey.refresh_from_db()

    assert survey.texts["de"]["catalog"] == {f"reward:{first.pk}": "Grundbox"}


def test_an_emptied_text_is_removed_so_the_english_shows_again(campaign, survey, actor):
    reward = RewardFactory(campaign=campaign, title="Core box")
    key = f"reward:{reward.pk}"
    save_catalog_texts(survey=survey, language="de", texts={key: "Grundbox"}, actor=actor)
    save_catalog_texts(survey=survey, language="de", texts={key: ""}, actor=actor)
    survey.refresh_from_db()

    assert survey.texts["de"]["catalog"] == {}
    assert catalog_texts(survey=survey, language="de").reward(reward.pk, "Core box") == "Core box"


def test_keys_not_given_are_kept(campaign, survey, actor):
    first, second = RewardFactory(campaign=campaign), RewardFactory(campaign=campaign)
    save_catalog_texts(
        survey=survey, language="de", texts={f"reward:{first.pk}": "Eins"}, actor=actor
    )
    save_catalog_texts(
        survey=survey, language="de", texts={f"reward:{second.pk}": "Zwei"}, actor=actor
    )
    survey.refresh_from_db()

    assert survey.texts["de"]["catalog"] == {
        f"reward:{first.pk}": "Eins",
        f"reward:{second.pk}": "Zwei",
    }


def test_a_name_over_300_characters_is_refused(campaign, survey, actor):
    offer = AddOnOfferFactory(campaign=campaign)
    with pytest.raises(CatalogTextInvalid) as refused:
        save_catalog_texts(
            survey=survey, language="de", texts={f"offer:{offer.pk}": "x" * 301}, actor=actor
        )
    assert refused.value.field == f"offer:{offer.pk}"


def test_a_description_may_be_2000_characters_but_not_more(campaign, survey, actor):
    offer = AddOnOfferFactory(campaign=campaign)
    key = f"offer_description:{offer.pk}"
    save_catalog_texts(survey=survey, language="de", texts={key: "x" * 2000}, actor=actor)
    with pytest.raises(CatalogTextInvalid):
        save_catalog_texts(survey=survey, language="de", texts={key: "x" * 2001}, actor=actor)


# --- the back-office page ----------------------------------------------------------


def test_page_lists_every_catalog_text_with_its_english(client, organization, campaign, survey):
    [(reward, group, offer)] = _catalog(campaign, 1)
    page = login(client, organization).get(page_url(campaign)).content.decode()

    for english in ("Tier 0", "Colour 0", "Red 0", "Mat 0", "Big mat 0", "Mat design 0"):
        assert english in page
    assert "Edition 0" in page
    assert f'name="de-reward-{reward.pk}"' in page
    assert f'name="de-offer_description-{offer.pk}"' in page


def test_page_shows_the_stored_translation(client, organization, campaign, survey, actor):
    reward = RewardFactory(campaign=campaign, title="Core box")
    save_catalog_texts(
        survey=survey, language="de", texts={f"reward:{reward.pk}": "Grundbox"}, actor=actor
    )
    page = login(client, organization).get(page_url(campaign)).content.decode()

    assert 'value="Grundbox"' in page


def test_page_without_extra_language_says_so_and_links_to_settings(client, organization, campaign):
    RewardFactory(campaign=campaign)
    page = login(client, organization).get(page_url(campaign)).content.decode()

    assert "offered in English only" in page
    assert reverse("survey-settings", args=[campaign.slug]) in page
    assert "Save translations" not in page


def test_page_is_in_the_survey_menu(client, organization, campaign, survey):
    page = login(client, organization).get(reverse("survey-settings", args=[campaign.slug]))

    assert page_url(campaign) in page.content.decode()


def test_owner_saves_the_translations_of_the_page(client, organization, campaign, survey):
    [(reward, group, offer)] = _catalog(campaign, 1)
    data = {
        f"de-reward-{reward.pk}": "Stufe 0",
        f"de-group-{group.pk}": "Farbe 0",
        f"de-offer_description-{offer.pk}": "Große Matte",
    }
    response = login(client, organization).post(page_url(campaign), data)
    survey.refresh_from_db()

    assert response.status_code == 302
    assert survey.texts["de"]["catalog"] == {
        f"reward:{reward.pk}": "Stufe 0",
        f"group:{group.pk}": "Farbe 0",
        f"offer_description:{offer.pk}": "Große Matte",
    }
    assert survey.texts["de"]["intro"] == "Willkommen!"


def test_too_long_text_is_shown_next_to_its_field_and_nothing_saved(
    client, organization, campaign, survey
):
    first, second = RewardFactory(campaign=campaign), RewardFactory(campaign=campaign)
    data = {f"de-reward-{first.pk}": "Gut", f"de-reward-{second.pk}": "x" * 301}
    response = login(client, organization).post(page_url(campaign), data)
    survey.refresh_from_db()

    assert response.status_code == 400
    assert "at most 300 characters" in response.content.decode()
    assert "catalog" not in survey.texts["de"]


def test_support_sees_the_page_read_only(client, organization, campaign, survey):
    reward = RewardFactory(campaign=campaign, title="Core box")
    response = login(client, organization, Role.SUPPORT).get(page_url(campaign))
    page = response.content.decode()

    assert response.status_code == 200
    assert f'name="de-reward-{reward.pk}"' in page and "disabled" in page
    assert "Save translations" not in page


def test_support_cannot_save(client, organization, campaign, survey):
    reward = RewardFactory(campaign=campaign)
    response = login(client, organization, Role.SUPPORT).post(
        page_url(campaign), {f"de-reward-{reward.pk}": "Grundbox"}
    )
    survey.refresh_from_db()

    assert response.status_code == 403
    assert "catalog" not in survey.texts["de"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_outsider_gets_404_and_changes_nothing(outsider_client, campaign, survey, method):
    reward = RewardFactory(campaign=campaign)
    response = getattr(outsider_client, method)(
        page_url(campaign), {f"de-reward-{reward.pk}": "Gehackt"}
    )
    survey.refresh_from_db()

    assert response.status_code == 404
    assert "catalog" not in survey.texts["de"]


@pytest.mark.parametrize("size", [1, 10])
def test_page_queries_do_not_grow_with_the_catalog(
    client, organization, campaign, survey, size, django_assert_max_num_queries
):
    _catalog(campaign, size)
    login(client, organization)
    with django_assert_max_num_queries(PAGE_QUERY_BOUND):
        response = client.get(page_url(campaign))
    assert response.status_code == 200


def test_page_query_count_is_the_same_for_a_small_and_a_large_catalog(
    client, organization, campaign, survey
):
    _catalog(campaign, 1)
    login(client, organization)
    with CaptureQueriesContext(connection) as few:
        client.get(page_url(campaign))
    _catalog(campaign, 9, start=1)
    with CaptureQueriesContext(connection) as many:
        client.get(page_url(campaign))

    assert len(many) == len(few)


@pytest.mark.parametrize("size", [1, 10])
def test_saving_queries_do_not_grow_with_the_catalog(
    client, organization, campaign, survey, size, django_assert_max_num_queries
):
    made = _catalog(campaign, size)
    data = {}
    for reward, group, offer in made:
        data[f"de-reward-{reward.pk}"] = f"Stufe {reward.pk}"
        data[f"de-group-{group.pk}"] = f"Farbe {group.pk}"
        data[f"de-offer-{offer.pk}"] = f"Matte {offer.pk}"
    login(client, organization)
    with django_assert_max_num_queries(SAVE_QUERY_BOUND):
        response = client.post(page_url(campaign), data)
    survey.refresh_from_db()

    assert response.status_code == 302
    assert len(survey.texts["de"]["catalog"]) == 3 * size


# --- what backers see ---------------------------------------------------------------


@pytest.fixture
def world(campaign):
    w = build_world(campaign)
    w.survey.languages = ["en", "de"]
    w.survey.save()
    w.survey.campaign = campaign
    org = campaign.organization
    w.rule = RegionalRule.objects.create(
        campaign=campaign,
        name="German edition",
        countries=["DE"],
        from_sku=w.box,
        to_sku=SkuFactory(organization=org, code="BOX-DE", name="Grundspiel"),
        backer_can_override=True,
    )
    w.mat.description = "A big neoprene mat"
    w.mat.save()
    save_catalog_texts(
        survey=w.survey,
        language="de",
        texts={
            f"reward:{w.reward.pk}": "Grundbox",
            f"group:{w.group.pk}": "Würfelfarbe",
            f"option:{w.opt_red.pk}": "Rote Würfel",
            f"option:{w.opt_blue.pk}": "Blaue Würfel",
            f"offer:{w.mat.pk}": "Spielmatte",
            f"offer_description:{w.mat.pk}": "Eine große Neoprenmatte",
            f"rule:{w.rule.pk}": "Deutsche Ausgabe",
        },
        actor=UserFactory(),
    )
    return w


def _open(client, invite, language: str):
    response = client.get(link_path(invite), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    return client


def test_german_choices_page_shows_the_german_group_and_options(client, world):
    _open(client, world.alice, "de")
    page = client.get(step_path(world.campaign, "choices")).content.decode()

    assert "Würfelfarbe" in page and "Rote Würfel" in page and "Blaue Würfel" in page
    assert "Dice colour" not in page


def test_german_choices_page_shows_the_german_regional_edition(client, world):
    _open(client, world.alice, "de")
    page = client.get(step_path(world.campaign, "choices")).content.decode()

    assert "Originalausgabe statt „Deutsche Ausgabe“ behalten" in page


def test_german_addons_page_shows_the_german_offer_name_and_description(client, world):
    _open(client, world.alice, "de")
    page = client.get(step_path(world.campaign, "addons")).content.decode()

    assert "<strong>Spielmatte</strong>" in page and "Eine große Neoprenmatte" in page
    assert "<strong>Metal coins</strong>" in page  # not translated: the English shows
    assert "A big neoprene mat" not in page


def test_german_review_names_the_bought_add_on_in_german(client, world):
    from surveys.models import CartLine, SurveyResponse

    _open(client, world.alice, "de")
    response = SurveyResponse.objects.get(invite=world.alice)
    CartLine.objects.create(
        response=response, offer=world.mat, quantity=2, unit_price=world.mat.price
    )
    page = client.get(step_path(world.campaign, "review")).content.decode()

    assert "2 × Spielmatte</dt>" in page
    assert "× Playmat</dt>" not in page  # the SKU line below keeps the SKU's own name


def test_german_reward_page_shows_the_german_reward_title(client, world):
    _open(client, world.alice, "de")
    page = client.get(step_path(world.campaign, "reward")).content.decode()

    assert "<h2>Grundbox</h2>" in page


def test_english_backer_sees_the_original_texts(client, world):
    _open(client, world.bob, "en")
    choices = client.get(step_path(world.campaign, "choices")).content.decode()
    addons = client.get(step_path(world.campaign, "addons")).content.decode()

    assert "Dice colour" in choices and "Würfelfarbe" not in choices
    assert "Keep the original edition instead of “German edition”" in choices
    assert "<strong>Playmat</strong>" in addons and "A big neoprene mat" in addons
    assert "Spielmatte" not in addons


@pytest.fixture
def store_world(world):
    world.survey.late_pledges_enabled = True
    world.survey.save()
    LateReward.objects.create(survey=world.survey, reward=world.reward, price=Money("79", "USD"))
    return world


def store_path(campaign) -> str:
    return reverse("survey-store", kwargs={"slug": campaign.slug})


def test_store_in_german_shows_the_german_reward_title(client, store_world):
    page = client.get(store_path(store_world.campaign), HTTP_ACCEPT_LANGUAGE="de")

    assert "<h2>Grundbox</h2>" in page.content.decode()


def test_store_reward_page_in_german_shows_the_german_reward_title(client, store_world):
    url = reverse(
        "survey-store-reward",
        kwargs={"slug": store_world.campaign.slug, "reward_id": store_world.reward.pk},
    )
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "<title>Grundbox" in page and "<h2>Grundbox</h2>" in page


def test_store_in_english_shows_the_original_reward_title(client, store_world):
    page = client.get(store_path(store_world.campaign), HTTP_ACCEPT_LANGUAGE="en")

    assert "<h2>Core box</h2>" in page.content.decode()


def test_late_pledge_email_in_german_names_the_german_reward(
    store_world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        create_late_pledge(
            survey=store_world.survey,
            reward=store_world.reward,
            name="Carla Spät",
            email="carla@example.net",
            country="DE",
            language="de",
        )

    [message] = mail.outbox
    assert "Grundbox" in message.body
    assert "Grundbox" in message.alternatives[0][0]
