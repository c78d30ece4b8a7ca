"""`manage.py import_skus CAMPAIGN_SLUG FILE [--dry-run]`."""

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Sku, SkuImport, SkuImportState
from inventory.services.skus import HEADER
from tests.factories import CampaignFactory

from .test_sku_import import csv_bytes, row


@pytest.fixture
def campaign(db):
    return CampaignFactory(slug="moonlit", currency="EUR")


def _file(tmp_path, rows, name="skus.csv", **kwargs):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, **kwargs))
    return path


def test_command_imports_and_reports_counts(campaign, tmp_path, capsys):
    path = _file(tmp_path, [row(Code="A"), row(Code="B", Customs_currency="")])
    call_command("import_skus", "moonlit", str(path))
    out = capsys.readouterr().out
    assert "2 rows: 2 new, 0 updated, 0 unchanged; 0 problems (0 blocking)." in out
    run = SkuImport.objects.get()
    assert run.state == SkuImportState.APPLIED and run.campaign == campaign
    assert f"Applied (SKU import #{run.pk}): 2 new, 0 updated." in out
    assert Sku.objects.filter(organization=campaign.organization).count() == 2
    assert Sku.objects.get(code="B").customs_value.currency.code == "EUR"

    call_command("import_skus", "moonlit", str(path))
    assert "0 new, 0 updated, 2 unchanged" in capsys.readouterr().out


def test_dry_run_changes_nothing(campaign, tmp_path, capsys):
    path = _file(tmp_path, [row(Code="A")])
    call_command("import_skus", "moonlit", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "1 rows: 1 new" in out and "Dry run: nothing changed." in out
    assert not Sku.objects.exists() and not SkuImport.objects.exists()


def test_blocking_problems_exit_1_listing_line_and_column(campaign, tmp_path, capsys):
    path = _file(
        tmp_path,
        [row(Code="A"), row(Code="B", Weight_g="heavy"), row(Code="A")],
        header=[*HEADER, "Colour"],
    )
    with pytest.raises(CommandError, match="Nothing was imported") as failed:
        call_command("import_skus", "moonlit", str(path))
    assert failed.value.returncode == 1
    out = capsys.readouterr().out
    assert "line 1, Colour: unknown column, ignored (not blocking)" in out
    assert "line 3, Weight (g): 'heavy' is not a whole number" in out
    assert "line 4, Code: 'A' is already on line 2" in out
    assert not Sku.objects.exists()
    assert SkuImport.objects.get().state == SkuImportState.BLOCKED


def test_dry_run_with_problems_also_exits_1(campaign, tmp_path, capsys):
    path = _file(tmp_path, [row(Digital="maybe")])
    with pytest.raises(CommandError):
        call_command("import_skus", "moonlit", str(path), "--dry-run")
    assert "line 2, Digital: 'maybe' is not yes or no" in capsys.readouterr().out
    assert not SkuImport.objects.exists()


def test_unknown_campaign_and_missing_file(campaign, tmp_path):
    with pytest.raises(CommandError, match="No campaign with the slug 'nope'"):
        call_command("import_skus", "nope", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_skus", "moonlit", str(tmp_path / "x.csv"))


def test_file_over_the_limit_is_refused(campaign, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"Code,Name\n" + b"#" * (5 * 1024 * 1024))
    with pytest.raises(CommandError, match="the limit for a SKU list is 5 MB"):
        call_command("import_skus", "moonlit", str(path))
