"""The calculator page: a destination and a cart in, the fee and its explanation out."""

from django.urls import reverse

from shipping.models import ShippingMethod

from .conftest import use_method


def calculate(client, shop, **params):
    query = {
        "country": "DE",
        "region": "",
        "postal_code": "",
        "reward": shop.core.pk,
        "platform_paid": "0",
    }
    query.update(params)
    return client.get(reverse("shipping-calculator", args=[shop.campaign.slug]), query)


def test_calculator_shows_the_fee_and_how_it_was_computed(owner_client, zoned):
    use_method(zoned.campaign, ShippingMethod.REWARD_PLUS_ADDONS)
    response = calculate(
        owner_client, zoned, platform_paid="10", **{f"addon-{zoned.playmat.pk}": "2"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert '<h2 class="card-title">Zone Europe</h2>' in page
    assert "<li>Zone Europe, reward Core box: 12.00</li>" in page
    assert "<li>Add-on Playmat × 2 at 3.00: 6.00</li>" in page
    assert "<li>Paid on Kickstarter: −10.00</li>" in page
    assert "<strong>8.00 USD</strong>" in page  # due


def test_calculator_says_why_the_zone_matched(owner_client, zoned):
    page = calculate(owner_client, zoned, country="GB", postal_code="ZE2 9AA").content.decode()
    assert "Zone UK islands" in page
    assert "Matched by postal code ZE2 9AA starts with ZE." in page


def test_calculator_lists_the_parcel_with_weights(owner_client, zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS)
    page = calculate(owner_client, zoned, reward=zoned.deluxe.pk).content.decode()
    assert "<li>Weight 2,600 g → band up to 3,000 g: 18.00</li>" in page
    assert "2,000 g" in page and "600 g" in page


def test_calculator_shows_an_excluded_destination_next_to_the_country(owner_client, zoned):
    response = calculate(owner_client, zoned, country="RU")
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_country_error">This campaign does not ship to Russia.' in page


def test_calculator_shows_a_missing_fee(owner_client, zoned):
    use_method(zoned.campaign, ShippingMethod.WEIGHT_BANDS, volumetric=True)
    response = calculate(owner_client, zoned, **{f"addon-{zoned.playmat.pk}": "2"})
    assert response.status_code == 400
    assert "is above the largest weight band of zone Europe" in response.content.decode()


def test_calculator_refuses_negative_units(owner_client, zoned):
    response = calculate(owner_client, zoned, **{f"addon-{zoned.playmat.pk}": "-1"})
    assert response.status_code == 400
    assert '<ol class="explanation">' not in response.content.decode()


def test_empty_calculator_asks_for_a_destination(owner_client, zoned):
    response = owner_client.get(reverse("shipping-calculator", args=[zoned.campaign.slug]))
    assert response.status_code == 200
    assert "Compute the fee" in response.content.decode()


def test_calculator_changes_nothing_on_post(owner_client, zoned):
    response = owner_client.post(
        reverse("shipping-calculator", args=[zoned.campaign.slug]), {"country": "DE"}
    )
    assert response.status_code == 405


def test_calculator_costs_a_fixed_number_of_queries(
    owner_client, zoned, django_assert_max_num_queries
):
    with django_assert_max_num_queries(22):
        calculate(owner_client, zoned, **{f"addon-{zoned.playmat.pk}": "1"})
