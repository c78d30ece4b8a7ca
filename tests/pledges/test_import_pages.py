"""The import pages: upload → dry run → apply, mapping screen, progress, problems
CSV, history; roles and organizations on the other side of the boundary."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from pledges.models import Backer, ImportMapping, ImportRun, ImportState
from tests.conftest import member

from .reports import KICKSTARTER_HEADER, csv_text, ks_row


def upload(client, campaign, content: bytes, name="report.csv", fmt="auto"):
    return client.post(
        reverse("import-list", args=[campaign.slug]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "format": fmt},
    )


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def commit_callbacks_run(monkeypatch):
    """The test's transaction never commits: run on_commit work (the Celery tasks,
    eager here) right away, as a real commit would."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


def test_upload_runs_a_dry_run_and_apply_imports(owner_client, campaign, owner):
    campaign.currency = "USD"
    campaign.save()
    content = csv_text(KICKSTARTER_HEADER, [ks_row(1), ks_row(2)]).encode()
    response = upload(owner_client, campaign, content)
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("import-detail", args=[campaign.slug, run.pk])
    assert run.state == ImportState.PREVIEWED  # eager tasks: the dry run already ran
    assert run.counts["new"] == 2 and run.created_by == owner
    assert not Backer.objects.exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert "This was a dry run: nothing has changed yet." in page
    assert "Apply: 2 new, 0 updated" in page

    owner_client.post(reverse("import-apply", args=[campaign.slug, run.pk]))
    run.refresh_from_db()
    assert run.state == ImportState.APPLIED and run.applied_at
    assert Backer.objects.filter(campaign=campaign).count() == 2
    assert set(Backer.objects.values_list("first_import_run", flat=True)) == {run.pk}
    # applying twice does nothing more
    response = owner_client.post(reverse("import-apply", args=[campaign.slug, run.pk]), follow=True)
    assert "cannot be applied now" in response.content.decode()


def test_the_same_file_again_says_it_changes_nothing(owner_client, campaign):
    content = csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode()
    upload(owner_client, campaign, content)
    first = ImportRun.objects.get()
    owner_client.post(reverse("import-apply", args=[campaign.slug, first.pk]))
    upload(owner_client, campaign, content)
    second = ImportRun.objects.latest("pk")
    assert second.counts["already_imported_run"] == first.pk
    page = owner_client.get(
        reverse("import-detail", args=[campaign.slug, second.pk])
    ).content.decode()
    assert "This exact file was already imported" in page
    assert "importing it again changes nothing" in page


def test_blocking_problems_are_listed_and_apply_is_refused(owner_client, campaign):
    rows = [ks_row(1), ks_row(2, **{"Pledge Amount": "abc", "Email": "nobody"})]
    upload(owner_client, campaign, csv_text(KICKSTARTER_HEADER, rows).encode(), name="bad.csv")
    run = ImportRun.objects.get()
    assert run.state == ImportState.BLOCKED
    page = owner_client.get(reverse("import-detail", args=[campaign.slug, run.pk])).content.decode()
    assert "Nothing was imported." in page
    assert "&#x27;abc&#x27; is not an amount" in page
    response = owner_client.post(reverse("import-apply", args=[campaign.slug, run.pk]), follow=True)
    assert "Fix the blocking problems" in response.content.decode()
    assert not Backer.objects.exists()

    csv_body = b"".join(
        owner_client.get(
            reverse("import-problems-csv", args=[campaign.slug, run.pk])
        ).streaming_content
    ).decode("utf-8-sig")
    lines = csv_body.splitlines()
    assert lines[0] == "File,Line,Column,Problem,Blocks the import"
    assert "bad.csv,3,Pledge Amount,'abc' is not an amount,yes" in lines
    assert any("'nobody' is not an email address" in line for line in lines)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+49 30 123", "'+49 30 123"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("Tyresö", "Tyresö"),
        (None, ""),
        (12, "12"),
    ],
)
def test_csv_cells_that_would_run_as_formulas_are_neutralised(value, expected):
    from pledges.exports import safe_cell

    assert safe_cell(value) == expected


def test_problem_csv_neutralises_formulas_from_the_file(owner_client, campaign):
    rows = [ks_row(1, **{"Pledged Status": '=HYPERLINK("http://evil")'})]
    upload(owner_client, campaign, csv_text(KICKSTARTER_HEADER, rows).encode())
    run = ImportRun.objects.get()
    run.problems.create(file="=evil.csv", line=1, column="@col", message="-x")
    response = owner_client.get(reverse("import-problems-csv", args=[campaign.slug, run.pk]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=evil.csv,1,'@col,'-x,yes" in body
    import csv as csv_module

    for row in csv_module.reader(body.splitlines()):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row


def test_an_unknown_layout_goes_through_the_mapping_screen_and_is_remembered(
    owner_client, campaign
):
    content = (
        "Order;Customer;E-mail;Total\n1001;Chloé;c@x.fr;45.00\n1002;Anaïs;a@x.fr;$50.00\n".encode()
    )
    upload(owner_client, campaign, content, name="shop.csv")
    run = ImportRun.objects.get()
    assert run.state == ImportState.NEEDS_MAPPING
    url = reverse("import-mapping", args=[campaign.slug, run.pk])
    page = owner_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    # suggestions and a preview of the parsed values
    assert '<option value="E-mail" selected>' in html
    assert "Chloé" in html and "45.00" in html  # the rows as they are, until mapped

    response = owner_client.post(url, {"platform_backer_id": "", "pledge_amount": "Total"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ImportMapping.objects.exists()

    response = owner_client.post(
        url,
        {
            "platform_backer_id": "Order",
            "name": "Customer",
            "email": "E-mail",
            "pledge_amount": "Total",
        },
    )
    run.refresh_from_db()
    assert run.state == ImportState.PREVIEWED, run.counts
    assert run.counts["new"] == 2
    assert ImportMapping.objects.get(campaign=campaign).mapping["email"] == "E-mail"

    # the next file of this campaign starts from the saved mapping
    upload(owner_client, campaign, content, name="shop2.csv", fmt="mapped")
    assert ImportRun.objects.latest("pk").state == ImportState.PREVIEWED


def test_too_large_a_file_is_refused_with_the_limit(owner_client, campaign, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = upload(owner_client, campaign, b"x" * 500)
    assert response.status_code == 400
    assert "the limit is 100\xa0bytes" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_a_zip_bomb_is_refused_and_nothing_changes(owner_client, campaign):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../etc/passwd.csv", "Backer UID,Pledge Amount\n1,$5\n")
    upload(owner_client, campaign, buffer.getvalue(), name="evil.zip")
    run = ImportRun.objects.get()
    assert run.state == ImportState.BLOCKED
    assert run.problems.get().file == "evil.zip"
    assert not Backer.objects.exists()


def test_uploaded_files_are_kept_under_the_organization(owner_client, campaign):
    upload(
        owner_client,
        campaign,
        csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode(),
        name="../../x.csv",
    )
    run = ImportRun.objects.get()
    assert run.file.name.startswith(f"imports/org-{campaign.organization_id}/")
    assert ".." not in run.file.name
    assert run.original_name == "x.csv"


def test_progress_partial_tells_the_page_to_reload_when_done(owner_client, campaign):
    upload(owner_client, campaign, csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode())
    run = ImportRun.objects.get()
    response = owner_client.get(reverse("import-progress", args=[campaign.slug, run.pk]))
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_progress_partial_shows_a_bar_while_running(owner_client, campaign):
    upload(owner_client, campaign, csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode())
    run = ImportRun.objects.get()
    ImportRun.objects.filter(pk=run.pk).update(
        state=ImportState.APPLYING, rows_done=50, rows_total=200
    )
    html = owner_client.get(
        reverse("import-progress", args=[campaign.slug, run.pk])
    ).content.decode()
    assert 'aria-valuenow="25"' in html
    assert 'hx-trigger="every 1s"' in html
    detail = owner_client.get(
        reverse("import-detail", args=[campaign.slug, run.pk])
    ).content.decode()
    assert 'id="import-progress"' in detail


def test_history_lists_runs_with_counts(owner_client, campaign):
    upload(
        owner_client, campaign, csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode(), name="first.csv"
    )
    html = owner_client.get(reverse("import-list", args=[campaign.slug])).content.decode()
    assert "first.csv" in html and "Ready to apply" in html


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.WAREHOUSE])
def test_support_and_warehouse_cannot_import(client, campaign, role):
    client.force_login(member(campaign.organization, role))
    assert client.get(reverse("import-list", args=[campaign.slug])).status_code == 403
    response = upload(client, campaign, csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode())
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_a_run_of_another_campaign_of_the_same_organization_is_404(owner_client, campaign):
    from tests.factories import CampaignFactory

    other = CampaignFactory(organization=campaign.organization)
    upload(owner_client, other, csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode())
    run = ImportRun.objects.get()
    assert (
        owner_client.get(reverse("import-detail", args=[campaign.slug, run.pk])).status_code == 404
    )


def test_uploaded_reports_are_never_served(client, owner_client, campaign, settings, tmp_path):
    import uuid

    settings.MEDIA_ROOT = tmp_path / "public"
    marker = f"Secret Backer {uuid.uuid4().hex}"
    content = csv_text(KICKSTARTER_HEADER, [ks_row(1, **{"Backer Name": marker})]).encode()
    upload(owner_client, campaign, content)
    run = ImportRun.objects.get()
    path = run.file.path
    assert path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
    assert not path.startswith(str(settings.MEDIA_ROOT))
    owner_client.logout()
    for url in (f"/media/{run.file.name}", f"/media/../private/{run.file.name}"):
        response = client.get(url)
        body = b"".join(getattr(response, "streaming_content", [response.content]))
        assert marker.encode() not in body, url
    with pytest.raises(ValueError):
        run.file.url  # no URL at all  # noqa: B018


def test_an_unexpected_error_fails_the_run_and_says_why(owner_client, campaign, monkeypatch):
    from pledges.services import imports as services

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "import_file", broken)
    response = upload(owner_client, campaign, csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode())
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.state == ImportState.FAILED and "disk on fire" in run.error
    page = owner_client.get(reverse("import-detail", args=[campaign.slug, run.pk])).content.decode()
    assert "The import failed: RuntimeError: disk on fire" in page
    assert 'id="import-progress"' not in page  # no endless polling


def test_choosing_a_layout_that_does_not_fit_is_a_problem_not_a_crash(owner_client, campaign):
    content = csv_text(
        ["Order No.", "Pledge ID", "Amount"], [{"Order No.": "1", "Pledge ID": "9", "Amount": "$5"}]
    ).encode()
    upload(owner_client, campaign, content, fmt="kickstarter")
    run = ImportRun.objects.get()
    assert run.state == ImportState.BLOCKED
    assert "the columns do not fit the layout chosen" in run.problems.get().message


def test_late_pledge_source_is_recorded_on_the_backers(owner_client, campaign):
    owner_client.post(
        reverse("import-list", args=[campaign.slug]),
        {
            "file": SimpleUploadedFile(
                "late.csv", csv_text(KICKSTARTER_HEADER, [ks_row(1)]).encode()
            ),
            "format": "auto",
            "source": "late_pledge",
        },
    )
    run = ImportRun.objects.get()
    owner_client.post(reverse("import-apply", args=[campaign.slug, run.pk]))
    assert list(Backer.objects.values_list("source", flat=True)) == ["late_pledge"]


def test_progress_of_a_real_import_reaches_the_page_through_the_cache(campaign, tmp_path):
    from pledges.importers.pipeline import import_file
    from pledges.services.imports import _progress_writer, import_progress

    from .reports import write_kickstarter_csv

    run = ImportRun.objects.create(
        campaign=campaign, original_name="r.csv", file_hash="x", state=ImportState.PREVIEWING
    )
    path = write_kickstarter_csv(tmp_path / "r.csv", [ks_row(n) for n in range(1, 5003)])
    import_file(campaign=campaign, path=path, original_name="r.csv", progress=_progress_writer(run))
    progress = import_progress(run=run)
    assert progress["done"] == 5002 and progress["total"] >= 5002
    assert progress["phase"] in {"reading", "merging"}
