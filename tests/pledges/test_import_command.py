import pytest
from django.core.management import CommandError, call_command

from pledges.models import Backer, ImportMapping, ImportRun, ImportState
from tests.factories import CampaignFactory

from .reports import ks_row, write_kickstarter_csv


@pytest.fixture
def campaign(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return CampaignFactory(slug="moonlit", currency="USD")


def test_command_imports_and_reports_counts(campaign, tmp_path, capsys):
    path = write_kickstarter_csv(tmp_path / "r.csv", [ks_row(1), ks_row(2)])
    call_command("import_backers", "moonlit", str(path), verbosity=0)
    out = capsys.readouterr().out
    assert "2 rows: 2 new, 0 updated, 0 unchanged; 0 problems (0 blocking)." in out
    run = ImportRun.objects.get()
    assert run.state == ImportState.APPLIED and f"Applied (import #{run.pk})." in out
    assert Backer.objects.filter(campaign=campaign).count() == 2

    call_command("import_backers", "moonlit", str(path), verbosity=0)
    out = capsys.readouterr().out
    assert "0 new, 0 updated, 2 unchanged" in out
    assert f"This file was already imported (run #{run.pk})." in out


def test_dry_run_changes_nothing(campaign, tmp_path, capsys):
    path = write_kickstarter_csv(tmp_path / "r.csv", [ks_row(1)])
    call_command("import_backers", "moonlit", str(path), "--dry-run", verbosity=0)
    assert "Dry run: nothing changed." in capsys.readouterr().out
    assert not Backer.objects.exists() and not ImportRun.objects.exists()


def test_blocking_problems_exit_non_zero_with_line_numbers(campaign, tmp_path, capsys):
    rows = [ks_row(1), ks_row(2, **{"Pledge Amount": "abc"})]
    path = write_kickstarter_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_backers", "moonlit", str(path), verbosity=0)
    assert "bad.csv, line 3, Pledge Amount: 'abc' is not an amount" in capsys.readouterr().out
    assert not Backer.objects.exists()
    assert ImportRun.objects.get().state == ImportState.BLOCKED


def test_unknown_layout_without_mapping_explains_what_to_do(campaign, tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("Order;Total\n1;5\n", encoding="utf-8")
    with pytest.raises(CommandError, match="match no known report"):
        call_command("import_backers", "moonlit", str(path), "--dry-run", verbosity=0)


def test_saved_mapping_is_used_by_the_command(campaign, tmp_path, capsys):
    ImportMapping.objects.create(
        campaign=campaign, mapping={"platform_backer_id": "Order", "pledge_amount": "Total"}
    )
    path = tmp_path / "shop.csv"
    path.write_text("Order;Total\n1;5\n2;7.50\n", encoding="utf-8")
    call_command("import_backers", "moonlit", str(path), "--format", "mapped", verbosity=0)
    assert "2 new" in capsys.readouterr().out
    assert set(Backer.objects.values_list("platform", flat=True)) == {"other"}


def test_unknown_campaign_and_missing_file_are_errors(campaign, tmp_path):
    with pytest.raises(CommandError, match="No campaign with the slug 'nope'"):
        call_command("import_backers", "nope", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_backers", "moonlit", str(tmp_path / "x.csv"))
