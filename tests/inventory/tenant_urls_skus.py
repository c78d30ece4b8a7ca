"""SKU catalog URLs for the tenancy test (tests/accounts/test_tenancy.py)."""

from inventory.models import Sku, SkuImport, SkuImportState


def _slug(o):
    return {"slug": o["campaign"].slug}


def _sku(o):
    return {"slug": o["campaign"].slug, "sku_id": o["sku"].pk}


def _import(o):
    return {"slug": o["campaign"].slug, "import_id": o["sku_import"].pk}


URLS = {
    "sku-list": _slug,
    "sku-create": _slug,
    "sku-edit": _sku,
    "sku-delete": _sku,
    "sku-import": _slug,
    "sku-import-detail": _import,
    "sku-import-problems-csv": _import,
    "sku-export": _slug,
}


def build(victim: dict) -> dict:
    organization = victim["organization"]
    sku = Sku.objects.create(organization=organization, code="VICTIM-1", name="Victim's box")
    data = b"Code,Name\nVICTIM-2,Secret new box\n"
    sku_import = SkuImport.objects.create(
        organization=organization,
        campaign=victim["campaign"],
        original_name="victim-skus.csv",
        file_hash="0" * 64,
        data=data,
        state=SkuImportState.PREVIEWED,
        counts={"rows": 1, "new": 1, "updated": 0, "unchanged": 0, "problems": 1, "blocking": 0},
        problems=[{"line": 1, "column": "Secret", "message": "unknown column", "blocking": False}],
    )
    return {"sku": sku, "sku_import": sku_import}
