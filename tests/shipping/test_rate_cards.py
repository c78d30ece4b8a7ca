"""Rate-card uploads: checked whole, problems by line and column, all or nothing."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from shipping.errors import RateCardRefused
from shipping.models import RateCard, RateCardRow
from shipping.services.rate_cards import check_rate_card, upload_rate_card

GOOD = b"zone_or_country,up_to_g,cost\nEurope,1000,7.50\nEurope,3000,14.00\nJapan,3000,$21.00\n"
BAD = (
    b"zone_or_country,up_to_g,cost\n"
    b"Europe,1000,7.50\n"  # line 2: fine
    b"Europe,heavy,8\n"  # line 3: weight
    b"Atlantis,1000,8\n"  # line 4: neither zone nor country
    b"US,1000,8 EUR\n"  # line 5: another currency
    b"FR,0,-2\n"  # line 6: weight and cost
    b"Europe,1000,0.125 USD\n"  # line 7: decimals
    b"Europe,1000,9\n"  # line 8: same as line 2
)


def problems(check):
    return [(p.line, p.column) for p in check.problems]


def test_good_file_becomes_a_card_with_its_rows(zoned):
    card = upload_rate_card(
        campaign=zoned.campaign, data=GOOD, original_name="dhl.csv", name="DHL 2026"
    )
    rows = list(
        RateCardRow.objects.filter(card=card)
        .order_by("pk")
        .values_list("zone_id", "country", "up_to_g", "cost")
    )
    assert (card.name, card.currency, card.original_name) == ("DHL 2026", "USD", "dhl.csv")
    assert rows == [
        (zoned.europe.pk, "", 1000, Decimal("7.50")),
        (zoned.europe.pk, "", 3000, Decimal("14.00")),
        (None, "JP", 3000, Decimal("21.00")),
    ]


def test_card_is_named_after_the_file_when_no_name_is_given(zoned):
    card = upload_rate_card(campaign=zoned.campaign, data=GOOD, original_name="dhl-2026.csv")
    assert card.name == "dhl-2026"


def test_problems_are_reported_by_line_and_column(zoned):
    check = check_rate_card(campaign=zoned.campaign, data=BAD, original_name="bad.csv")
    assert problems(check) == [
        (3, "up_to_g"),
        (4, "zone_or_country"),
        (5, "cost"),
        (6, "up_to_g"),
        (6, "cost"),
        (7, "cost"),
        (8, "up_to_g"),
    ]
    assert "first on line 2" in check.problems[-1].message
    assert "EUR" in check.problems[2].message


def test_cost_with_a_thousands_or_decimal_point_is_not_guessed(zoned):
    data = b"zone_or_country,up_to_g,cost\nEurope,1000,1.250\n"
    check = check_rate_card(campaign=zoned.campaign, data=data, original_name="x.csv")
    assert problems(check) == [(2, "cost")]
    assert "could be read two ways" in check.problems[0].message


def test_file_with_a_problem_keeps_nothing(zoned):
    with pytest.raises(RateCardRefused) as caught:
        upload_rate_card(campaign=zoned.campaign, data=BAD, original_name="bad.csv")
    assert caught.value.code == "rate_card_refused"
    assert len(caught.value.problems) == 7
    assert not RateCard.objects.exists()
    assert not RateCardRow.objects.exists()


def test_missing_column_is_reported_on_the_header_line(zoned):
    check = check_rate_card(
        campaign=zoned.campaign, data=b"zone,weight,cost\nEurope,1000,5\n", original_name="x.csv"
    )
    assert problems(check) == [(1, "zone_or_country, up_to_g")]


def test_header_names_ignore_case_and_spaces(zoned):
    data = b"Cost; Up To G ; Zone or country\n7.50;1000;Europe\n"
    check = check_rate_card(campaign=zoned.campaign, data=data, original_name="x.csv")
    assert check.ok
    assert check.rows[0].zone == zoned.europe


def test_header_without_prices_is_a_problem(zoned):
    check = check_rate_card(
        campaign=zoned.campaign, data=b"zone_or_country,up_to_g,cost\n", original_name="x.csv"
    )
    assert not check.ok


def test_empty_file_is_a_problem(zoned):
    check = check_rate_card(campaign=zoned.campaign, data=b"", original_name="x.csv")
    assert [p.message for p in check.problems] == ["The file is empty."]


# --- pages ---------------------------------------------------------------------------


def upload(client, campaign, data, name="card.csv"):
    return client.post(
        reverse("shipping-rate-cards", args=[campaign.slug]),
        {"name": "", "file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def test_upload_page_saves_a_good_file(owner_client, zoned):
    response = upload(owner_client, zoned.campaign, GOOD)
    card = RateCard.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "shipping-rate-card", args=[zoned.campaign.slug, card.pk]
    )
    page = owner_client.get(response["Location"]).content.decode()
    assert "Japan" in page and "21.00" in page


def test_upload_page_lists_the_problems_and_saves_nothing(owner_client, zoned):
    response = upload(owner_client, zoned.campaign, BAD)
    page = response.content.decode()
    assert response.status_code == 400
    assert "nothing was saved" in page
    assert '<td class="num">4</td><td>zone_or_country</td>' in page
    assert "“Atlantis” is neither a zone of this campaign nor a country." in page
    assert not RateCard.objects.exists()


def test_rate_card_can_be_deleted(owner_client, zoned):
    card = upload_rate_card(campaign=zoned.campaign, data=GOOD, original_name="dhl.csv")
    response = owner_client.post(
        reverse("shipping-rate-card-delete", args=[zoned.campaign.slug, card.pk])
    )
    assert response.status_code == 302
    assert not RateCard.objects.exists()
    assert not RateCardRow.objects.exists()


def test_rate_card_list_costs_a_fixed_number_of_queries(
    owner_client, zoned, django_assert_max_num_queries
):
    for i in range(5):
        upload_rate_card(campaign=zoned.campaign, data=GOOD, original_name=f"card-{i}.csv")
    with django_assert_max_num_queries(8):
        response = owner_client.get(reverse("shipping-rate-cards", args=[zoned.campaign.slug]))
    assert response.content.decode().count("card-") >= 5
