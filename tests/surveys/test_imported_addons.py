from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djmoney.money import Money
from hypothesis import given
from hypothesis import strategies as st

from pledges.models import PaymentStatus
from surveys.errors import ImportedAddOnInvalid
from surveys.models import ImportedAddOn
from surveys.selectors import imported_addon_summary, median
from surveys.services.imported_addons import ImportedAddOnMapping, map_imported_addons
from tests.factories import AddOnOfferFactory, CampaignFactory, RewardFactory

from .conftest import pledge

# Measured on SQLite: session, user, membership, campaign, texts aggregate, implied
# prices, mappings, offers for the selects, header memberships = 9 for any number of
# texts and pledges.
PAGE_QUERY_BOUND = 9


def _rows(campaign):
    return {row.text: row for row in imported_addon_summary(campaign=campaign).rows}


def _page(client, campaign):
    response = client.get(reverse("imported-addon-list", args=[campaign.slug]))
    assert response.status_code == 200
    return response


def _post(client, campaign, rows: list[tuple[str, str, int]]):
    data = {"map-TOTAL_FORMS": str(len(rows)), "map-INITIAL_FORMS": str(len(rows))}
    for n, (text, target, units) in enumerate(rows):
        data.update(
            {f"map-{n}-text": text, f"map-{n}-target": target, f"map-{n}-units_per_item": units}
        )
    return client.post(reverse("imported-addon-list", args=[campaign.slug]), data)


# --- counting the texts ----------------------------------------------------------


def test_each_item_text_counts_backers_and_units(campaign, reward):
    pledge(campaign, "Dice Tower × 2; Playmat × 1", reward=reward)
    pledge(campaign, "Dice Tower × 1", reward=reward)
    pledge(campaign, "Playmat × 3; Dice Tower × 1", reward=reward)
    pledge(campaign, "Sleeves", reward=reward)
    pledge(campaign, "", reward=reward)
    pledge(campaign, "", reward=reward)
    summary = imported_addon_summary(campaign=campaign)
    counts = {row.text: (row.backers, row.units) for row in summary.rows}
    assert counts == {"Dice Tower": (3, 4), "Playmat": (2, 4), "Sleeves": (1, 1)}
    assert [row.text for row in summary.rows] == ["Dice Tower", "Playmat", "Sleeves"]
    assert (summary.pledges_with_addons, summary.pledges_without_addons) == (4, 2)
    assert summary.text_count == 3 and summary.unmapped_count == 3


def test_only_collected_pledges_of_this_campaign_count(campaign, reward):
    pledge(campaign, "Playmat × 1", reward=reward)
    pledge(campaign, "Playmat × 4", reward=reward, status=PaymentStatus.DROPPED)
    pledge(campaign, "Dice Tower × 1", reward=reward, status=PaymentStatus.ERRORED)
    other = CampaignFactory(organization=campaign.organization)
    pledge(other, "Playmat × 7")
    pledge(other, "Only elsewhere × 1")
    summary = imported_addon_summary(campaign=campaign)
    assert [(row.text, row.backers, row.units) for row in summary.rows] == [("Playmat", 1, 1)]
    assert summary.pledges_with_addons == 1


def test_page_shows_the_summary_and_highlights_unmapped(owner_client, campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign, name="Playmat offer")
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=offer)
    pledge(campaign, "Dice Tower × 2; Playmat × 1", reward=reward)
    pledge(campaign, "", reward=reward)
    response = _page(owner_client, campaign)
    page = response.content.decode()
    summary = response.context["summary"]
    assert (summary.text_count, summary.unmapped_count, summary.mismatch_count) == (2, 1, 0)
    assert "Unmapped" in page and "Playmat offer" in page
    assert "Collected pledges without" in page
    assert 'class="attention"' in page


def test_empty_page_explains_where_texts_come_from(owner_client, campaign, reward):
    pledge(campaign, "", reward=reward)
    page = _page(owner_client, campaign).content.decode()
    assert "No collected pledge carries platform add-ons." in page


def test_page_query_count_does_not_grow_with_texts(
    owner_client, campaign, reward, django_assert_max_num_queries
):
    AddOnOfferFactory(campaign=campaign)
    pledge(campaign, "Thing 0 × 1", reward=reward, paid_for_addons="5")
    with CaptureQueriesContext(connection) as few:
        _page(owner_client, campaign)
    for n in range(1, 12):
        offer = AddOnOfferFactory(campaign=campaign)
        ImportedAddOn.objects.create(campaign=campaign, text=f"Thing {n}", offer=offer)
        pledge(campaign, f"Thing {n} × 2; Thing 0 × 1", reward=reward)
        pledge(campaign, f"Thing {n} × 1", reward=reward, paid_for_addons="5")
    with django_assert_max_num_queries(PAGE_QUERY_BOUND):
        response = _page(owner_client, campaign)
    with CaptureQueriesContext(connection) as many:
        _page(owner_client, campaign)
    assert response.context["summary"].text_count == 12
    assert len(many) == len(few)


# --- saving the mapping ------------------------------------------------------------


def test_save_all_mappings_at_once(owner_client, campaign, reward):
    tower = AddOnOfferFactory(campaign=campaign, name="Dice tower")
    sleeves = AddOnOfferFactory(campaign=campaign, name="Sleeves")
    pledge(campaign, "Dice Tower × 2; Playmat × 1; Sleeve pack × 1", reward=reward)
    response = _post(
        owner_client,
        campaign,
        [
            ("Dice Tower", str(tower.pk), 1),
            ("Playmat", "included", 1),
            ("Sleeve pack", str(sleeves.pk), 3),
        ],
    )
    assert response.status_code == 302
    saved = {
        m.text: (m.offer_id, m.units_per_item, m.included_in_reward)
        for m in ImportedAddOn.objects.filter(campaign=campaign)
    }
    assert saved == {
        "Dice Tower": (tower.pk, 1, False),
        "Playmat": (None, 1, True),
        "Sleeve pack": (sleeves.pk, 3, False),
    }
    summary = imported_addon_summary(campaign=campaign)
    assert summary.unmapped_count == 0


def test_saving_again_changes_and_clears_mappings(owner_client, campaign, reward):
    tower = AddOnOfferFactory(campaign=campaign, name="Dice tower")
    pledge(campaign, "Dice Tower × 1; Playmat × 1", reward=reward)
    _post(owner_client, campaign, [("Dice Tower", str(tower.pk), 1), ("Playmat", "included", 1)])
    _post(owner_client, campaign, [("Dice Tower", str(tower.pk), 2), ("Playmat", "", 1)])
    assert list(
        ImportedAddOn.objects.filter(campaign=campaign).values_list("text", "units_per_item")
    ) == [("Dice Tower", 2)]
    follow = _page(owner_client, campaign)
    assert follow.context["summary"].unmapped_count == 1


def test_page_form_starts_from_the_current_mapping(owner_client, campaign, reward):
    tower = AddOnOfferFactory(campaign=campaign)
    ImportedAddOn.objects.create(
        campaign=campaign, text="Dice Tower", offer=tower, units_per_item=2
    )
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", included_in_reward=True)
    pledge(campaign, "Dice Tower × 1; Playmat × 1; Pin", reward=reward)
    response = _page(owner_client, campaign)
    initial = {
        form["text"].value(): (form["target"].value(), form["units_per_item"].value())
        for _, form, _ in response.context["lines"]
    }
    assert initial == {
        "Dice Tower": (str(tower.pk), 2),
        "Playmat": ("included", 1),
        "Pin": ("", 1),
    }


def test_offer_of_another_campaign_cannot_be_posted(owner_client, campaign, reward):
    foreign = AddOnOfferFactory(campaign=CampaignFactory(organization=campaign.organization))
    pledge(campaign, "Dice Tower × 1", reward=reward)
    response = _post(owner_client, campaign, [("Dice Tower", str(foreign.pk), 1)])
    assert response.status_code == 400
    assert not ImportedAddOn.objects.exists()


def test_text_not_in_the_pledges_is_refused(owner_client, campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign)
    pledge(campaign, "Dice Tower × 1", reward=reward)
    response = _post(owner_client, campaign, [("Invented", str(offer.pk), 1)])
    assert response.status_code == 400
    assert "no longer in the campaign" in response.content.decode()
    assert not ImportedAddOn.objects.exists()


def test_zero_units_per_item_is_refused_next_to_the_row(owner_client, campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign)
    pledge(campaign, "Dice Tower × 1; Playmat", reward=reward)
    response = _post(
        owner_client, campaign, [("Dice Tower", str(offer.pk), 0), ("Playmat", "included", 1)]
    )
    assert response.status_code == 400
    forms = {form["text"].value(): form for _, form, _ in response.context["lines"]}
    assert forms["Dice Tower"].errors["units_per_item"]
    assert not ImportedAddOn.objects.exists()  # all or nothing


def test_service_refuses_offer_and_included_together(campaign, owner):
    offer = AddOnOfferFactory(campaign=campaign)
    with pytest.raises(ImportedAddOnInvalid):
        map_imported_addons(
            campaign=campaign,
            mappings=[ImportedAddOnMapping(text="Playmat", offer=offer, included_in_reward=True)],
            actor=owner,
        )
    assert not ImportedAddOn.objects.exists()


def test_service_refuses_an_offer_of_another_campaign(campaign, owner):
    foreign = AddOnOfferFactory(campaign=CampaignFactory(organization=campaign.organization))
    with pytest.raises(ImportedAddOnInvalid):
        map_imported_addons(
            campaign=campaign,
            mappings=[
                ImportedAddOnMapping(text="Dice Tower", included_in_reward=True),
                ImportedAddOnMapping(text="Playmat", offer=foreign),
            ],
            actor=owner,
        )
    assert not ImportedAddOn.objects.exists()


def test_service_reports_what_it_did(campaign, owner):
    offer = AddOnOfferFactory(campaign=campaign)
    ImportedAddOn.objects.create(campaign=campaign, text="Old", included_in_reward=True)
    ImportedAddOn.objects.create(campaign=campaign, text="Same", offer=offer)
    result = map_imported_addons(
        campaign=campaign,
        mappings=[
            ImportedAddOnMapping(text="Old", offer=offer, units_per_item=2),
            ImportedAddOnMapping(text="Same", offer=offer),
            ImportedAddOnMapping(text="New", included_in_reward=True),
            ImportedAddOnMapping(text="Never mapped"),
        ],
        actor=owner,
    )
    assert (result.created, result.updated, result.cleared, result.unchanged) == (1, 1, 0, 2)


def test_included_in_reward_counts_as_mapped_without_a_price_check(campaign, reward, owner):
    pledge(campaign, "Wooden insert × 1", reward=reward, paid_for_addons="0")
    map_imported_addons(
        campaign=campaign,
        mappings=[ImportedAddOnMapping(text="Wooden insert", included_in_reward=True)],
        actor=owner,
    )
    row = _rows(campaign)["Wooden insert"]
    assert row.is_mapped and row.included_in_reward and row.offer is None
    assert not row.price_mismatch
    assert row.median_price == Money("0.00", "USD")


# --- the price check ---------------------------------------------------------------


def test_price_mismatch_is_flagged(owner_client, campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign, name="Dice tower", price=Money("15.00", "USD"))
    ImportedAddOn.objects.create(campaign=campaign, text="Dice Tower", offer=offer)
    pledge(campaign, "Dice Tower × 1", reward=reward, paid_for_addons="12.00", shipping="9.50")
    response = _page(owner_client, campaign)
    row = {r.text: r for r in response.context["summary"].rows}["Dice Tower"]
    assert row.median_price == Money("12.00", "USD")
    assert row.price_mismatch
    message = (
        "Imported at about $12.00, offer priced $15.00: backers will see a stray credit or balance."
    )
    assert row.mismatch_message == message
    assert message in response.content.decode()
    assert response.context["summary"].mismatch_count == 1


@pytest.mark.parametrize(
    ("offer_price", "flagged"),
    [("12.00", False), ("12.01", False), ("11.99", False), ("12.02", True), ("11.98", True)],
)
def test_a_cent_of_difference_is_not_a_mismatch(campaign, reward, offer_price, flagged):
    offer = AddOnOfferFactory(campaign=campaign, price=Money(offer_price, "USD"))
    ImportedAddOn.objects.create(campaign=campaign, text="Dice Tower", offer=offer)
    pledge(campaign, "Dice Tower × 1", reward=reward, paid_for_addons="12.00")
    assert _rows(campaign)["Dice Tower"].price_mismatch is flagged


def test_implied_price_takes_out_reward_shipping_and_bonus_per_unit(campaign, reward):
    # 59 reward + 2 × 12.50 + 10 shipping + 5 bonus = 99.00
    pledge(
        campaign, "Dice Tower × 2", reward=reward, paid_for_addons="25.00", shipping="10", bonus="5"
    )
    row = _rows(campaign)["Dice Tower"]
    assert row.median_price == Money("12.50", "USD")
    assert row.priced_pledges == 1


def test_pledge_without_reward_pays_all_of_it_for_the_add_on(campaign):
    pledge(campaign, "Playmat × 1", reward=None, paid_for_addons="20.00", shipping="5")
    assert _rows(campaign)["Playmat"].median_price == Money("20.00", "USD")


def test_median_of_mixed_pledges(campaign, reward):
    # Only pledges whose add-ons are this one text tell its price.
    for paid in ("10.00", "12.00", "12.00", "30.00"):
        pledge(campaign, "Playmat × 1", reward=reward, paid_for_addons=paid)
    pledge(campaign, "Playmat × 2", reward=reward, paid_for_addons="24.00", shipping="8")
    pledge(campaign, "Playmat × 1; Dice Tower × 1", reward=reward, paid_for_addons="99.00")
    pledge(campaign, "Playmat × 1", reward=reward, paid_for_addons="500", status="dropped")
    row = _rows(campaign)["Playmat"]
    assert row.median_price == Money("12.00", "USD")  # of 10, 12, 12, 12, 30
    assert row.priced_pledges == 5
    assert row.backers == 6 and row.units == 7
    assert _rows(campaign)["Dice Tower"].median_price is None


def test_median_of_an_even_count_is_the_middle_pair_average(campaign, reward):
    for paid in ("10.00", "11.00", "14.00", "40.00"):
        pledge(campaign, "Playmat", reward=reward, paid_for_addons=paid)
    assert _rows(campaign)["Playmat"].median_price == Money("12.50", "USD")


def test_units_per_item_scale_the_expected_price(campaign, reward):
    single = AddOnOfferFactory(campaign=campaign, price=Money("6.00", "USD"))
    ImportedAddOn.objects.create(
        campaign=campaign, text="Sleeve pack", offer=single, units_per_item=2
    )
    pledge(campaign, "Sleeve pack × 1", reward=reward, paid_for_addons="12.00")
    row = _rows(campaign)["Sleeve pack"]
    assert row.expected_price == Money("12.00", "USD")
    assert not row.price_mismatch
    ImportedAddOn.objects.filter(text="Sleeve pack").update(units_per_item=3)
    row = _rows(campaign)["Sleeve pack"]
    assert row.price_mismatch
    assert "offer priced $6.00 × 3" in row.mismatch_message


def test_price_check_reads_only_this_campaign(campaign, reward):
    offer = AddOnOfferFactory(campaign=campaign, price=Money("12.00", "USD"))
    ImportedAddOn.objects.create(campaign=campaign, text="Playmat", offer=offer)
    pledge(campaign, "Playmat", reward=reward, paid_for_addons="12.00")
    other = CampaignFactory(organization=campaign.organization)
    other_reward = RewardFactory(campaign=other, minimum=Money("1.00", "USD"))
    for _ in range(3):
        pledge(other, "Playmat", reward=other_reward, paid_for_addons="40.00")
    row = _rows(campaign)["Playmat"]
    assert (row.median_price, row.priced_pledges, row.price_mismatch) == (
        Money("12.00", "USD"),
        1,
        False,
    )


def test_create_offer_link_carries_the_text_and_median_price(owner_client, campaign, reward):
    pledge(campaign, "Dice Tower × 2", reward=reward, paid_for_addons="24.00")
    response = _page(owner_client, campaign)
    _, _, query = response.context["lines"][0]
    assert parse_qs(query) == {"from_text": ["Dice Tower"], "price": ["12.00"]}
    link = f"{reverse('addon-create', args=[campaign.slug])}?{query}"
    assert link.replace("&", "&amp;") in response.content.decode()
    assert urlsplit(link).path == reverse("addon-create", args=[campaign.slug])


@given(st.lists(st.integers(min_value=-5000, max_value=50000), min_size=1, max_size=40))
def test_median_of_a_histogram_equals_the_median_of_the_values(cents):
    values = sorted(Decimal(c) / 100 for c in cents)
    middle = len(values) // 2
    expected = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    assert median(Counter(values)) == expected.quantize(Decimal("0.01"), ROUND_HALF_UP)
