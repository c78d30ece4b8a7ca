"""Export pages: a new export downloads the file and records the batch, a past batch
downloads again, the template editor works without JavaScript; downloads only for
the campaign's organization and roles with orders.export."""

import pytest
from django.urls import reverse

from accounts.models import Role
from orders.models import ExportBatch, ExportLayout, ExportTemplate, OrderState
from tests.conftest import member
from tests.factories import CampaignFactory, OrderFactory, OrderLineFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def locked_order(campaign, **fields):
    backer = PledgeFactory(backer__campaign=campaign).backer
    order = OrderFactory(backer=backer, campaign=campaign, state=OrderState.LOCKED, **fields)
    OrderLineFactory(order=order, quantity=2)
    return order


def body(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode("utf-8")
    return response.content.decode()


def exports_url(campaign):
    return reverse("order-exports", args=[campaign.slug])


def export(client, campaign, **data):
    payload = {"template": "One row per line", "fmt": "csv", **data}
    return client.post(exports_url(campaign), payload)


def test_new_export_downloads_the_csv(owner_client, campaign):
    order = locked_order(campaign)
    response = export(owner_client, campaign)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    lines = body(response).splitlines()
    assert lines[0].startswith("\ufeffOrder number,")
    assert lines[1].startswith(f"{order.number},")


def test_new_export_in_xlsx(owner_client, campaign):
    locked_order(campaign)
    response = export(owner_client, campaign, fmt="xlsx")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"  # a zip: the xlsx


def test_second_export_without_the_choice_is_refused(owner_client, campaign):
    locked_order(campaign)
    body(export(owner_client, campaign))
    response = export(owner_client, campaign)
    assert response.status_code == 400
    assert "include orders already exported" in response.content.decode()


def test_second_export_with_the_choice_goes(owner_client, campaign):
    locked_order(campaign)
    body(export(owner_client, campaign))
    response = export(owner_client, campaign, include_exported="on")
    assert response.status_code == 200
    assert ExportBatch.objects.filter(campaign=campaign).count() == 2


def test_history_lists_batches_with_who_and_counts(owner_client, owner, campaign):
    locked_order(campaign)
    body(export(owner_client, campaign))
    text = owner_client.get(exports_url(campaign)).content.decode()
    assert owner.email in text and "One row per line" in text


def test_past_batch_downloads_again_without_marking(owner_client, campaign):
    order = locked_order(campaign)
    body(export(owner_client, campaign))
    batch = ExportBatch.objects.get()
    response = owner_client.get(reverse("order-export-download", args=[campaign.slug, batch.pk]))
    assert f"\r\n{order.number}," in body(response)
    order.refresh_from_db()
    assert order.export_count == 1


def test_download_of_another_organizations_batch_is_404(outsider_client, campaign):
    batch = ExportBatch.objects.create(campaign=campaign, template_name="One row per line")
    response = outsider_client.get(reverse("order-export-download", args=[campaign.slug, batch.pk]))
    assert response.status_code == 404


def test_download_of_a_batch_through_another_campaign_is_404(owner_client, campaign):
    other = CampaignFactory()  # another organization's campaign and batch
    batch = ExportBatch.objects.create(campaign=other, template_name="One row per line")
    response = owner_client.get(reverse("order-export-download", args=[campaign.slug, batch.pk]))
    assert response.status_code == 404


def test_support_role_cannot_download(client, organization, campaign):
    batch = ExportBatch.objects.create(campaign=campaign, template_name="One row per line")
    client.force_login(member(organization, Role.SUPPORT))
    response = client.get(reverse("order-export-download", args=[campaign.slug, batch.pk]))
    assert response.status_code == 403


def test_support_role_cannot_export(client, organization, campaign):
    order = locked_order(campaign)
    client.force_login(member(organization, Role.SUPPORT))
    assert export(client, campaign).status_code == 403
    order.refresh_from_db()
    assert order.exported_at is None


def test_warehouse_role_can_export(client, organization, campaign):
    locked_order(campaign)
    client.force_login(member(organization, Role.WAREHOUSE))
    assert export(client, campaign).status_code == 200


def test_outsider_cannot_export_the_campaign(outsider_client, campaign):
    order = locked_order(campaign)
    assert export(outsider_client, campaign).status_code == 404
    order.refresh_from_db()
    assert order.exported_at is None


# --- the template editor -----------------------------------------------------------------


def editor(campaign, template):
    return reverse("export-template-edit", args=[campaign.slug, template.pk])


@pytest.fixture
def template(campaign):
    return ExportTemplate.objects.create(
        campaign=campaign,
        name="Mine",
        layout=ExportLayout.PER_ORDER,
        columns=[
            {"field": "order_number", "header": "No"},
            {"field": "city", "header": "City"},
        ],
    )


def post_editor(client, campaign, template, action, **extra):
    data = {"name": template.name, "layout": template.layout, "action": action}
    for n, column in enumerate(template.columns):
        data[f"field_{n}"] = column["field"]
        data[f"header_{n}"] = column["header"]
    data.update(extra)
    return client.post(editor(campaign, template), data)


def test_creating_a_template_opens_its_editor(owner_client, campaign):
    response = owner_client.post(
        reverse("export-templates", args=[campaign.slug]),
        {"name": "Warehouse B", "layout": ExportLayout.PER_LINE},
    )
    template = ExportTemplate.objects.get(campaign=campaign, name="Warehouse B")
    assert response["Location"] == editor(campaign, template)


def test_editor_moves_a_column_up(owner_client, campaign, template):
    post_editor(owner_client, campaign, template, "up-1")
    template.refresh_from_db()
    assert [c["field"] for c in template.columns] == ["city", "order_number"]


def test_editor_moves_a_column_down(owner_client, campaign, template):
    post_editor(owner_client, campaign, template, "down-0")
    template.refresh_from_db()
    assert [c["field"] for c in template.columns] == ["city", "order_number"]


def test_editor_removes_a_column(owner_client, campaign, template):
    post_editor(owner_client, campaign, template, "remove-0")
    template.refresh_from_db()
    assert [c["field"] for c in template.columns] == ["city"]


def test_editor_adds_a_column(owner_client, campaign, template):
    post_editor(owner_client, campaign, template, "add", add_field="postal_code")
    template.refresh_from_db()
    assert template.columns[-1] == {"field": "postal_code", "header": "Postal code"}


def test_editor_renames_a_column_on_save(owner_client, campaign, template):
    post_editor(owner_client, campaign, template, "save", header_1="Ort")
    template.refresh_from_db()
    assert template.columns[1] == {"field": "city", "header": "Ort"}


def test_editor_refuses_a_line_field_in_a_per_order_layout(owner_client, campaign, template):
    response = post_editor(owner_client, campaign, template, "add", add_field="sku")
    assert response.status_code == 400
    template.refresh_from_db()
    assert len(template.columns) == 2


def test_editor_of_another_organizations_template_is_404(outsider_client, campaign, template):
    assert outsider_client.get(editor(campaign, template)).status_code == 404


def test_support_role_cannot_edit_templates(client, organization, campaign, template):
    client.force_login(member(organization, Role.SUPPORT))
    assert post_editor(client, campaign, template, "remove-0").status_code == 403
    template.refresh_from_db()
    assert len(template.columns) == 2


def test_deleting_a_template(owner_client, campaign, template):
    owner_client.post(reverse("export-template-delete", args=[campaign.slug, template.pk]))
    assert not ExportTemplate.objects.filter(pk=template.pk).exists()
