"""Survey pages keep the campaign's map, offers and questions per process, keyed
by the survey's catalog_version: a change through any service is seen by the
very next request, and an unchanged catalog is not read again."""

import pytest
from djmoney.money import Money

from inventory import bom
from pledges.errors import SkuMapLocked
from pledges.services import catalog as catalog_services
from pledges.services.sku_map import lock_sku_map, unlock_sku_map
from surveys.models import Survey
from surveys.services import addons as addon_services
from surveys.services import design
from surveys.services.imported_addons import ImportedAddOnMapping, map_imported_addons

from .backer_setup import build_world, open_survey, step_path


@pytest.fixture
def w(campaign):
    return build_world(campaign)


def version(w) -> int:
    return Survey.objects.get(pk=w.survey.pk).catalog_version


def page(client, w, step: str) -> str:
    response = client.get(step_path(w.campaign, step))
    assert response.status_code == 200
    return response.content.decode()


def test_the_map_is_read_once_while_its_version_stands(client, w, monkeypatch):
    loads = []
    real = bom.load_catalog
    monkeypatch.setattr(bom, "load_catalog", lambda **kw: loads.append(kw) or real(**kw))
    open_survey(client, w.alice)
    page(client, w, "reward")
    page(client, w, "choices")
    assert len(loads) == 1


def test_a_new_version_reads_the_map_again(client, w, monkeypatch):
    loads = []
    real = bom.load_catalog
    monkeypatch.setattr(bom, "load_catalog", lambda **kw: loads.append(kw) or real(**kw))
    open_survey(client, w.alice)
    page(client, w, "reward")
    bom.catalog_changed(campaign=w.campaign)
    page(client, w, "reward")
    assert len(loads) == 2


def test_a_renamed_choice_option_shows_on_the_next_request(client, w, owner):
    open_survey(client, w.alice)
    assert "Blue" in page(client, w, "choices")
    catalog_services.update_choice_option(
        campaign=w.campaign, option=w.opt_blue, label="Ocean", sku=w.blue, quantity=1,
        is_default=False,
    )  # fmt: skip
    html = page(client, w, "choices")
    assert "Ocean" in html
    assert ">Blue<" not in html


def test_a_renamed_sku_shows_on_the_next_request(client, w):
    open_survey(client, w.alice)
    assert "Core box game" in page(client, w, "reward")
    w.box.name = "Core box, second printing"
    w.box.save()  # as the back office's SKU form does
    assert "Core box, second printing" in page(client, w, "reward")


def test_a_renamed_addon_offer_shows_on_the_next_request(client, w, owner):
    open_survey(client, w.alice)
    assert "Playmat" in page(client, w, "addons")
    addon_services.update_addon_offer(
        offer=w.mat, actor=owner, name="Neoprene playmat", price=Money("15.00", "USD"),
        description="", stock_limit=None, per_backer_limit=3, tiers=[], opens_at=None,
        closes_at=None, is_active=True,
    )  # fmt: skip
    assert "Neoprene playmat" in page(client, w, "addons")


def test_a_new_addon_offer_shows_on_the_next_request(client, w, owner):
    open_survey(client, w.alice)
    page(client, w, "addons")
    addon_services.create_addon_offer(
        campaign=w.campaign, actor=owner, name="Card sleeves", price=Money("4.00", "USD")
    )
    assert "Card sleeves" in page(client, w, "addons")


def test_a_new_question_shows_on_the_next_request(client, w, owner):
    open_survey(client, w.alice)
    page(client, w, "questions")
    design.create_question(survey=w.survey, actor=owner, kind="short_text", label="Nickname")
    assert "Nickname" in page(client, w, "questions")


def test_a_changed_question_shows_on_the_next_request(client, w, owner):
    open_survey(client, w.alice)
    page(client, w, "questions")
    design.update_question(
        question=w.question, actor=owner, kind="short_text", label="Name to engrave"
    )
    assert "Name to engrave" in page(client, w, "questions")


def test_a_deleted_question_is_gone_on_the_next_request(client, w, owner):
    design.create_question(survey=w.survey, actor=owner, kind="short_text", label="Nickname")
    open_survey(client, w.alice)
    assert "Nickname" in page(client, w, "questions")
    question = w.survey.questions.get(label="Nickname")
    design.delete_question(question=question, actor=owner)
    assert "Nickname" not in page(client, w, "questions")


def test_moving_a_question_changes_the_version(w, owner):
    second = design.create_question(survey=w.survey, actor=owner, kind="number", label="Age")
    before = version(w)
    design.move_question(question=second, direction="up", actor=owner)
    assert version(w) == before + 1


def test_mapping_imported_addons_changes_the_version(w, owner):
    before = version(w)
    map_imported_addons(
        campaign=w.campaign,
        mappings=[ImportedAddOnMapping(text="Playmat", offer=w.mat)],
        actor=owner,
    )
    assert version(w) > before


def test_a_stretch_goal_changes_the_version(w):
    before = version(w)
    catalog_services.create_stretch_goal(
        campaign=w.campaign, name="Bonus meeple", sku=w.box, quantity=1
    )
    assert version(w) == before + 1


def test_locking_and_unlocking_the_sku_map_change_the_version(w, owner):
    before = version(w)
    lock_sku_map(campaign=w.campaign, actor=owner)
    unlock_sku_map(campaign=w.campaign, actor=owner, reason="A late stretch goal")
    assert version(w) == before + 2


def test_a_refused_change_keeps_the_version(w, owner):
    lock_sku_map(campaign=w.campaign, actor=owner)
    before = version(w)
    with pytest.raises(SkuMapLocked):
        addon_services.create_addon_offer(
            campaign=w.campaign, actor=owner, name="Late", price=Money("1.00", "USD")
        )
    assert version(w) == before


def test_a_full_save_of_an_old_survey_copy_keeps_the_newer_version(w):
    old_copy = Survey.objects.get(pk=w.survey.pk)
    bom.catalog_changed(campaign=w.campaign)
    old_copy.link_max_age_days = 30
    old_copy.save()
    assert version(w) == old_copy.catalog_version + 1
