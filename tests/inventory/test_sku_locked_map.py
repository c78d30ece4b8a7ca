"""A SKU of a locked SKU map keeps what the lock checked (customs data, digital or
not) until someone unlocks; other edits stay allowed."""

from django.urls import reverse
from django.utils import timezone

from inventory.models import Sku
from inventory.services import skus as sku_services
from tests.factories import RewardFactory, RewardItemFactory, SkuFactory

from .test_sku_form import VALID


def _locked_with(campaign, sku):
    RewardItemFactory(reward=RewardFactory(campaign=campaign), sku=sku)
    campaign.sku_map_locked_at = timezone.now()
    campaign.save(update_fields=["sku_map_locked_at"])


def _edit(client, campaign, sku, **changes):
    data = {**VALID, "code": sku.code, "name": sku.name, **changes}
    return client.post(reverse("sku-edit", args=[campaign.slug, sku.pk]), data)


def test_clearing_customs_data_of_a_locked_maps_sku_is_refused(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization, code="CORE")
    _locked_with(campaign, sku)
    response = _edit(owner_client, campaign, sku, hs_code="")
    assert response.status_code == 400  # the form again, with the reason
    assert (
        f"CORE is in the locked SKU map of {campaign.name}: unlock it before removing its HS code"
        in response.content.decode()
    )
    sku.refresh_from_db()
    assert sku.hs_code == "950490"


def test_other_edits_of_a_locked_maps_sku_are_saved(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization, code="CORE")
    _locked_with(campaign, sku)
    response = _edit(owner_client, campaign, sku, name="Core box (2nd print)", weight_g="1500")
    assert response.status_code == 302
    sku.refresh_from_db()
    assert (sku.name, sku.weight_g) == ("Core box (2nd print)", 1500)


def test_the_same_edit_is_fine_once_the_map_is_unlocked(owner_client, campaign):
    sku = SkuFactory(organization=campaign.organization, code="CORE")
    RewardItemFactory(reward=RewardFactory(campaign=campaign), sku=sku)
    assert _edit(owner_client, campaign, sku, hs_code="").status_code == 302
    assert Sku.objects.get(pk=sku.pk).hs_code == ""


def test_an_import_that_clears_a_locked_maps_weight_is_blocked_at_its_line(campaign):
    sku = SkuFactory(organization=campaign.organization, code="CORE", weight_g=450)
    SkuFactory(organization=campaign.organization, code="FREE", weight_g=300)
    _locked_with(campaign, sku)
    data = b"Code,Name,Weight (g)\nFREE,Free item,\nCORE,Core box,\n"
    check = sku_services.check_sku_file(
        organization=campaign.organization,
        data=data,
        original_name="skus.csv",
        default_currency=campaign.currency,
    )
    problems = [(p.line, p.column, p.message) for p in check.problems if p.blocking]
    assert problems == [
        (
            3,
            "Weight (g)",
            f"CORE is in the locked SKU map of {campaign.name}: unlock it before removing "
            "its weight",
        )
    ]
