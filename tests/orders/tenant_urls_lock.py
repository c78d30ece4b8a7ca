"""Lock and export URLs for the tenancy test (tests/accounts/test_tenancy.py)."""

from orders.models import ExportBatch, ExportLayout, ExportTemplate


def _slug(o):
    return {"slug": o["campaign"].slug}


def _template(o):
    return {"slug": o["campaign"].slug, "template_id": o["export_template"].pk}


URLS = {
    "order-lock": _slug,
    "order-exports": _slug,
    "order-export-download": lambda o: {
        "slug": o["campaign"].slug,
        "batch_id": o["export_batch"].pk,
    },
    "export-templates": _slug,
    "export-template-edit": _template,
    "export-template-delete": _template,
}


def build(victim: dict) -> dict:
    campaign = victim["campaign"]
    return {
        "export_batch": ExportBatch.objects.create(
            campaign=campaign, template_name="One row per line", order_count=0
        ),
        "export_template": ExportTemplate.objects.create(
            campaign=campaign,
            name="Victim's template",
            layout=ExportLayout.PER_ORDER,
            columns=[{"field": "order_number", "header": "No"}],
        ),
    }
