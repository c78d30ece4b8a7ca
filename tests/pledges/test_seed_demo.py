import pytest
from django.core.management import call_command
from django.test import override_settings

from accounts.models import Membership, Role
from pledges.demo import CAMPAIGN_SLUG, DEMO_PASSWORD
from pledges.models import Backer, Campaign, DuplicateGroup, PaymentStatus, Pledge


@pytest.fixture(scope="module")
def _demo_rows(django_db_setup, django_db_blocker):
    """Seed once for the module (the full demo takes seconds); each test still runs
    in its own rolled-back transaction on top, and the rows go when the module ends."""
    with django_db_blocker.unblock(), override_settings(PLEDGEPORT_TEST_GATEWAY=True):
        call_command("seed_demo", verbosity=0)
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def seeded(_demo_rows, db):
    return Campaign.objects.get(slug=CAMPAIGN_SLUG)


def test_demo_campaign_has_tiers_backers_and_countries(seeded):
    assert 4 <= seeded.rewards.count() <= 6
    assert Backer.objects.filter(campaign=seeded).count() == 500
    countries = set(
        Pledge.objects.filter(backer__campaign=seeded)
        .exclude(shipping_country="")
        .values_list("shipping_country", flat=True)
    )
    assert len(countries) >= 25


def test_demo_has_the_awkward_cases_later_features_need(seeded):
    pledges = Pledge.objects.filter(backer__campaign=seeded)
    assert pledges.filter(payment_status=PaymentStatus.DROPPED).exists()
    assert pledges.filter(payment_status=PaymentStatus.ERRORED).exists()
    # non-ASCII names
    assert any(not name.isascii() for name in Backer.objects.values_list("name", flat=True))
    # the same email under two backer ids
    emails = list(Backer.objects.values_list("email_normalized", flat=True))
    assert len(emails) - len(set(emails)) >= 3
    assert DuplicateGroup.objects.filter(campaign=seeded, status="open").count() >= 3
    # broken addresses: a shipping reward with a missing street, city or postcode
    shipping = pledges.exclude(shipping_country="")
    broken = (
        shipping.filter(shipping_postal_code="").count()
        + shipping.filter(shipping_address_1="").count()
        + shipping.filter(shipping_city="").count()
        + shipping.filter(shipping_postal_code__startswith="??").count()
    )
    assert broken >= 5


def test_demo_logins_work_for_every_role(seeded, client):
    roles = set(
        Membership.objects.filter(organization=seeded.organization).values_list("role", flat=True)
    )
    assert roles == set(Role.values)
    for email in ["owner@example.com", "support@example.com"]:
        response = client.post("/accounts/login/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302
        assert client.get(f"/app/c/{seeded.slug}/").status_code == 200
        client.logout()


def test_seeding_twice_changes_nothing(seeded):
    before = sorted(
        Pledge.objects.values_list(
            "backer__platform_backer_id", "amount", "payment_status", "pledged_at"
        )
    )
    call_command("seed_demo", verbosity=0)
    after = sorted(
        Pledge.objects.values_list(
            "backer__platform_backer_id", "amount", "payment_status", "pledged_at"
        )
    )
    assert before == after
    assert Campaign.objects.count() == 1


# --- the SKU catalog and the reward map of the demo ------------------------------------


def _catalog_rows(campaign):
    from inventory.models import Sku
    from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule, RewardItem, StretchGoal
    from surveys.models import AddOnOffer, AddOnOfferItem, ImportedAddOn

    return {
        "skus": sorted(
            Sku.objects.filter(organization=campaign.organization).values_list(
                "code", "name", "weight_g", "hs_code", "is_digital"
            )
        ),
        "items": sorted(
            RewardItem.objects.filter(reward__campaign=campaign).values_list(
                "reward__title", "sku__code", "quantity"
            )
        ),
        "groups": sorted(
            ChoiceGroup.objects.filter(campaign=campaign).values_list(
                "name", "reward__title", "addon_offer__name", "picks"
            ),
            key=str,
        ),
        "options": sorted(
            ChoiceOption.objects.filter(group__campaign=campaign).values_list(
                "group__name", "label", "sku__code", "quantity", "is_default"
            )
        ),
        "rules": list(
            RegionalRule.objects.filter(campaign=campaign).values_list("name", "countries")
        ),
        "goals": list(
            StretchGoal.objects.filter(campaign=campaign).values_list("name", "sku__code")
        ),
        "offers": list(AddOnOffer.objects.filter(campaign=campaign).values_list("name", "price")),
        "offer_items": sorted(
            AddOnOfferItem.objects.filter(offer__campaign=campaign).values_list(
                "offer__name", "sku__code", "quantity"
            )
        ),
        "imported": list(
            ImportedAddOn.objects.filter(campaign=campaign).values_list("text", "offer__name")
        ),
        "addons_text": sorted(
            Pledge.objects.filter(backer__campaign=campaign).values_list(
                "backer__platform_backer_id", "addons_text", "amount"
            )
        ),
    }


def test_demo_catalog_has_editions_variants_and_mostly_complete_data(seeded):
    from inventory.models import Sku

    skus = {s.code: s for s in Sku.objects.filter(organization=seeded.organization)}
    assert {"SKY-CORE-EN", "SKY-CORE-DE", "SKY-SLEEVES", "SKY-MAT", "SKY-COINS"} <= set(skus)
    assert skus["SKY-CORE-DE"].attributes == {"language": "de"}
    assert sorted(s.attributes["colour"] for s in skus.values() if "colour" in s.attributes) == [
        "blue",
        "green",
        "red",
    ]
    assert skus["SKY-RULES-PDF"].is_digital
    incomplete = [s.code for s in skus.values() if s.missing_shipping_data]
    assert 1 <= len(incomplete) <= 3  # something for the map check, most complete


def test_demo_composes_every_tier_with_a_dice_choice_from_the_mid_tier(seeded):
    mid = seeded.rewards.get(platform_reward_id="10003")
    for reward in seeded.rewards.all():
        assert reward.items.exists(), reward.title
        groups = list(reward.choice_groups.all())
        if reward.minimum >= mid.minimum:
            (group,) = groups
            assert group.picks == 1 and group.options.count() == 3
            assert group.options.filter(is_default=True).count() == 1
        else:
            assert groups == []


def test_demo_has_a_german_edition_and_two_stretch_goals(seeded):
    rule = seeded.regional_rules.get()
    assert sorted(c.code for c in rule.countries) == ["AT", "CH", "DE"]
    assert (rule.from_sku.code, rule.to_sku.code, rule.backer_can_override) == (
        "SKY-CORE-EN",
        "SKY-CORE-DE",
        True,
    )
    coins = seeded.stretch_goals.get(sku__code="SKY-COINS")
    assert coins.from_reward.platform_reward_id == "10003" and coins.pledged_before is None
    early = seeded.stretch_goals.exclude(pk=coins.pk).get()
    assert early.pledged_before is not None and early.from_reward is None
    pledges = Pledge.objects.filter(backer__campaign=seeded)
    assert 0 < pledges.filter(pledged_at__lt=early.pledged_before).count() < pledges.count() / 4


def test_demo_add_on_offers_and_their_imported_texts(seeded):
    from pledges.importers.addons import parse_addons_text
    from surveys.models import ImportedAddOn

    offers = list(seeded.addon_offers.prefetch_related("items", "choice_groups__options"))
    assert 2 <= len(offers) <= 3
    assert any(o.items.count() >= 2 for o in offers)  # a bundle
    assert any(o.stock_limit for o in offers)
    bundle = next(o for o in offers if o.items.count() >= 2)
    assert bundle.choice_groups.get().options.filter(is_default=True).count() == 1

    pledges = Pledge.objects.filter(backer__campaign=seeded)
    with_addons = pledges.exclude(addons_text="")
    assert 0.1 * pledges.count() < with_addons.count() < 0.4 * pledges.count()
    texts = {
        item
        for t in with_addons.values_list("addons_text", flat=True)
        for item, _ in parse_addons_text(t)
    }
    mapped = dict(ImportedAddOn.objects.filter(campaign=seeded).values_list("text", "offer"))
    assert texts <= set(mapped)
    assert sum(1 for offer in mapped.values() if offer is None) == 1  # work left to do


def test_seeding_twice_changes_no_catalog_row(seeded):
    before = _catalog_rows(seeded)
    call_command("seed_demo", verbosity=0)
    assert _catalog_rows(seeded) == before


def test_seeding_leaves_a_locked_map_alone(seeded):
    from django.utils import timezone

    from pledges.models import RewardItem

    seeded.sku_map_locked_at = timezone.now()
    seeded.save(update_fields=["sku_map_locked_at"])
    RewardItem.objects.filter(reward__campaign=seeded, sku__code="SKY-RULES-PDF").delete()
    call_command("seed_demo", verbosity=0)
    assert not RewardItem.objects.filter(
        reward__campaign=seeded, sku__code="SKY-RULES-PDF"
    ).exists()


def test_demo_survey_is_live_with_answers_and_a_test_link(seeded, client):
    from django.urls import reverse

    from surveys.links import invite_token
    from surveys.models import SurveyInvite, SurveyResponse

    survey = seeded.survey
    assert survey.status == "live" and survey.languages == ["en", "de"]
    responses = SurveyResponse.objects.filter(invite__survey=survey, is_test=False)
    assert responses.filter(completed_at__isnull=False).count() >= 100
    assert responses.filter(completed_at__isnull=True).exists()
    test_invite = SurveyInvite.objects.get(survey=survey, is_test=True)
    path = reverse("survey-open", kwargs={"slug": seeded.slug, "token": invite_token(test_invite)})
    assert client.get(path, follow=True).status_code == 200


def test_demo_tax_calculator_quotes_an_eu_order_under_ioss(seeded, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    client.force_login(get_user_model().objects.get(email="owner@example.com"))
    management = {"line-TOTAL_FORMS": "1", "line-INITIAL_FORMS": "0"}
    line = {"line-0-kind": "goods", "line-0-amount": "100.00", "line-0-description": "Playmat"}
    response = client.get(
        reverse("tax-calculator", args=[seeded.slug]),
        {"country": "FR", "on": "2026-12-01", **management, **line},
    )
    assert response.status_code == 200
    assert "Set a USD → EUR exchange rate" not in response.content.decode()
    page = response.content.decode()
    assert "eu_ioss" in page and "IM2760000001" in page
    assert "20.00" in page  # French VAT on 100.00, collected at checkout


def test_demo_has_orders_a_review_queue_and_paid_balances_with_invoices(seeded, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from orders.models import Invoice, LedgerEntry, Order, OrderHold, Payment

    orders = Order.objects.filter(campaign=seeded)
    assert orders.count() == Backer.objects.filter(campaign=seeded, merged_into=None).count()
    assert orders.filter(state="ready").exists()
    assert OrderHold.objects.filter(order__campaign=seeded, cleared_at__isnull=True).exists()
    paid = Payment.objects.filter(order__campaign=seeded, status="succeeded")
    assert paid.count() == 25
    assert Invoice.objects.filter(campaign=seeded).count() == 25
    assert LedgerEntry.objects.filter(order__campaign=seeded, kind="charge").count() == 25
    client.force_login(get_user_model().objects.get(email="owner@example.com"))
    for name in ("order-list", "order-review", "payment-list", "invoice-list"):
        assert client.get(reverse(name, args=[seeded.slug])).status_code == 200


def test_seeding_twice_pays_nothing_more(seeded):
    from orders.models import Payment

    before = Payment.objects.filter(order__campaign=seeded).count()
    call_command("seed_demo", verbosity=0)
    assert Payment.objects.filter(order__campaign=seeded).count() == before
