"""Creating and editing one SKU: the form's rules, through the pages."""

from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from inventory.forms import SkuForm
from inventory.models import Sku
from tests.factories import CampaignFactory, OrganizationFactory, SkuFactory

VALID = {
    "code": "GAME-CORE",
    "name": "Core box",
    "attributes": "",
    "weight_g": "1450",
    "length_mm": "300",
    "width_mm": "300",
    "height_mm": "80",
    "hs_code": "950490",
    "country_of_origin": "CN",
    "customs_description": "Board game",
    "customs_amount": "18.50",
    "customs_currency": "EUR",
    "barcode": "",
}


def _form(campaign, instance=None, **changes):
    data = {**VALID, **changes}
    return SkuForm(data, instance=instance, organization=campaign.organization, campaign=campaign)


def _post_create(client, campaign, **changes):
    return client.post(reverse("sku-create", args=[campaign.slug]), {**VALID, **changes})


@pytest.mark.parametrize("written", ["9504.90", "9504 90", "950490", " 9504.90.00 "])
def test_hs_code_is_stored_as_digits(campaign, written):
    form = _form(campaign, hs_code=written)
    assert form.is_valid(), form.errors
    sku = form.save()
    assert sku.hs_code == written.replace(".", "").replace(" ", "")


@pytest.mark.parametrize("written", ["9504", "95049O", "12345678901"])
def test_hs_code_that_is_not_6_to_10_digits_is_refused_next_to_the_field(campaign, written):
    form = _form(campaign, hs_code=written)
    assert not form.is_valid()
    assert "is not an HS code: write 6 to 10 digits" in form.errors["hs_code"][0]


def test_barcode_with_right_check_digit_is_kept(campaign):
    form = _form(campaign, barcode="4006381 333931")
    assert form.is_valid(), form.errors
    assert form.save().barcode == "4006381333931"


def test_barcode_with_wrong_check_digit_is_refused(campaign):
    form = _form(campaign, barcode="4006381333932")
    assert not form.is_valid()
    assert form.errors["barcode"] == [
        "'4006381333932' is not a valid GTIN/EAN barcode: the check digit is wrong"
    ]


def test_barcode_of_wrong_length_says_which_lengths_exist(campaign):
    form = _form(campaign, barcode="12345")
    assert not form.is_valid()
    assert "a GTIN has 8, 12, 13 or 14" in form.errors["barcode"][0]


def test_attributes_are_read_from_lines_with_equals_or_colon(campaign):
    form = _form(campaign, attributes="colour = red\nsize: L\n\nlanguage=de")
    assert form.is_valid(), form.errors
    assert form.save().attributes == {"colour": "red", "size": "L", "language": "de"}


@pytest.mark.parametrize(
    "written, message",
    [
        ("colour red", "'colour red' is not name = value"),
        ("colour =", "'colour =' needs both a name and a value"),
        ("colour = red\nColour = blue", "'Colour' is given twice"),
    ],
)
def test_bad_attribute_lines_are_refused(campaign, written, message):
    form = _form(campaign, attributes=written)
    assert not form.is_valid()
    assert message in form.errors["attributes"][0]


def test_edit_form_shows_attributes_as_lines(campaign):
    sku = SkuFactory(organization=campaign.organization, attributes={"colour": "red", "size": "L"})
    form = SkuForm(instance=sku, organization=campaign.organization, campaign=campaign)
    assert form["attributes"].value() == "colour = red\nsize = L"


def test_customs_value_defaults_to_the_campaign_currency(db):
    campaign = CampaignFactory(currency="GBP")
    form = SkuForm(organization=campaign.organization, campaign=campaign)
    assert form["customs_currency"].value() == "GBP"
    form = _form(campaign, customs_currency="GBP", customs_amount="7.25")
    assert form.is_valid(), form.errors
    assert form.save().customs_value == Money(Decimal("7.25"), "GBP")


def test_edit_keeps_the_skus_own_customs_currency(campaign):
    sku = SkuFactory(organization=campaign.organization, customs_value=Money(3, "SEK"))
    form = SkuForm(instance=sku, organization=campaign.organization, campaign=campaign)
    assert form["customs_currency"].value() == "SEK"


def test_empty_customs_value_clears_it(campaign):
    sku = SkuFactory(organization=campaign.organization, customs_value=Money(3, "USD"))
    form = _form(campaign, instance=sku, code=sku.code, customs_amount="")
    assert form.is_valid(), form.errors
    form.save()
    sku.refresh_from_db()
    assert sku.customs_value is None


def test_duplicate_code_in_the_organization_is_a_field_error(owner_client, campaign):
    SkuFactory(organization=campaign.organization, code="GAME-CORE")
    response = _post_create(owner_client, campaign)
    assert response.status_code == 400
    errors = response.context["form"].errors["code"]
    assert errors == [
        f"{campaign.organization.name} already has a SKU with the code GAME-CORE; "
        "pick another code or edit that SKU."
    ]
    assert Sku.objects.filter(code="GAME-CORE").count() == 1


def test_same_code_in_another_organization_is_fine(owner_client, campaign):
    SkuFactory(organization=OrganizationFactory(), code="GAME-CORE")
    response = _post_create(owner_client, campaign)
    assert response.status_code == 302
    created = Sku.objects.get(organization=campaign.organization, code="GAME-CORE")
    assert created.customs_value == Money(Decimal("18.50"), "EUR")
    assert created.country_of_origin.code == "CN"


def test_editing_keeps_its_own_code_without_a_duplicate_error(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization, code="GAME-CORE")
    response = owner_client.post(
        reverse("sku-edit", args=[campaign.slug, sku.pk]), {**VALID, "name": "Core box v2"}
    )
    assert response.status_code == 302
    sku.refresh_from_db()
    assert sku.name == "Core box v2" and sku.weight_g == 1450


def test_code_with_spaces_is_refused(campaign):
    form = _form(campaign, code="GAME CORE")
    assert not form.is_valid()
    assert "no spaces" in form.errors["code"][0]


def test_another_organizations_sku_cannot_be_edited_under_my_campaign(owner_client, campaign):
    foreign = SkuFactory(organization=OrganizationFactory(), name="Theirs")
    url = reverse("sku-edit", args=[campaign.slug, foreign.pk])
    assert owner_client.get(url).status_code == 404
    assert owner_client.post(url, {**VALID, "name": "Mine now"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Theirs" and foreign.organization != campaign.organization


def test_created_sku_belongs_to_the_campaigns_organization_whatever_is_posted(
    owner_client, campaign
):
    other = OrganizationFactory()
    _post_create(owner_client, campaign, organization=other.pk)
    assert Sku.objects.get(code="GAME-CORE").organization == campaign.organization
