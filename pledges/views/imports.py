from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ..errors import PledgesError
from ..exports import csv_response
from ..forms import ColumnMappingForm, ImportUploadForm
from ..importers import formats
from ..importers.pipeline import peek_header
from ..importers.problems import UnreadableFile
from ..models import ImportMapping, ImportRun, ImportState
from ..navigation import campaign_context
from ..selectors import campaign_for
from ..services import imports as import_services
from ..services.imports import PROBLEMS_STORED

ACTION = "backers.import"


def _run(request, slug, run_id, action=ACTION):
    campaign, role = campaign_for(user=request.user, slug=slug, action=action)
    run = get_object_or_404(
        ImportRun.objects.select_related("created_by"), pk=run_id, campaign=campaign
    )
    return campaign, role, run


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request, slug):
    campaign, role = campaign_for(user=request.user, slug=slug, action=ACTION)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = import_services.create_import_run(
                campaign=campaign,
                upload=form.cleaned_data["file"],
                fmt=form.cleaned_data["format"],
                source=form.cleaned_data["source"],
                actor=request.user,
            )
        except PledgesError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("import-detail", campaign.slug, run.pk)
    runs = campaign.import_runs.select_related("created_by").order_by("-created_at")[:50]
    context = campaign_context(campaign, role, "import-list")
    context.update(form=form, runs=runs)
    return render(request, "pledges/imports/list.html", context, status=400 if form.errors else 200)


@login_required
def import_detail(request, slug, run_id):
    campaign, role, run = _run(request, slug, run_id)
    context = campaign_context(campaign, role, "import-list")
    problems = run.problems.all()
    context.update(
        run=run,
        progress=import_services.import_progress(run=run),
        problems=problems[:200],
        problems_more=max(0, min(run.counts.get("problems", 0), PROBLEMS_STORED) - 200),
        problems_unsaved=max(0, run.counts.get("problems", 0) - PROBLEMS_STORED),
        previous=ImportRun.objects.filter(pk=run.counts.get("already_imported_run")).first(),
    )
    return render(request, "pledges/imports/detail.html", context)


@login_required
def import_progress_partial(request, slug, run_id):
    """Polled by htmx while the run works; tells the page to reload when it is done."""
    campaign, role, run = _run(request, slug, run_id)
    if not run.is_running:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "pledges/imports/_progress.html",
        {"campaign": campaign, "run": run, "progress": import_services.import_progress(run=run)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request, slug, run_id):
    campaign, role, run = _run(request, slug, run_id)
    try:
        sheet, header, rows = peek_header(Path(run.file.path), original_name=run.original_name)
    except UnreadableFile as exc:
        messages.error(request, str(exc.problem))
        return redirect("import-detail", campaign.slug, run.pk)
    saved = ImportMapping.objects.filter(campaign=campaign).first()
    initial = run.mapping or (saved.mapping if saved else None) or formats.suggest_mapping(header)
    initial = {k: v for k, v in initial.items() if v in header}
    form = ColumnMappingForm(request.POST or None, header=header, initial_mapping=initial)
    if request.method == "POST" and form.is_valid():
        try:
            import_services.save_mapping(run=run, mapping=form.mapping(), actor=request.user)
        except PledgesError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Column mapping saved for this campaign; checking the file.")
            return redirect("import-detail", campaign.slug, run.pk)
    mapping = form.mapping() if form.is_bound and form.is_valid() else initial
    preview = _preview_rows(sheet, header, rows, mapping)
    context = campaign_context(campaign, role, "import-list")
    context.update(
        run=run, form=form, header=header, preview=preview, sheet=sheet, raw_rows=rows[:20]
    )
    return render(request, "pledges/imports/mapping.html", context)


def _preview_rows(sheet, header, rows, mapping):
    """The first rows as the importer would read them with `mapping`."""
    if not mapping or formats.ColumnMapping(mapping).errors(header):
        return []
    mapper = formats.RowMapper("other", header, file=sheet, mapping=mapping)
    preview = []
    for offset, cells in enumerate(rows, start=2):
        record, problems = mapper.map(cells, offset)
        preview.append({"line": offset, "record": record, "problems": problems})
    return preview


@login_required
@require_POST
def import_apply(request, slug, run_id):
    campaign, role, run = _run(request, slug, run_id)
    try:
        import_services.request_apply(run=run, actor=request.user)
    except PledgesError as exc:
        messages.error(request, exc.message)
    else:
        run.refresh_from_db()
        if run.state == ImportState.APPLIED:
            messages.success(request, "Import applied.")
        else:
            messages.info(request, "Applying the import…")
    return redirect("import-detail", campaign.slug, run.pk)


@login_required
def import_problems_csv(request, slug, run_id):
    campaign, role, run = _run(request, slug, run_id)
    rows = run.problems.values_list("file", "line", "column", "message", "blocking").iterator()
    header = [("File", "Line", "Column", "Problem", "Blocks the import")]
    body = (
        (f, line or "", col, msg, "yes" if blocking else "no")
        for f, line, col, msg, blocking in rows
    )
    from itertools import chain

    return csv_response(chain(header, body), filename=f"import-{run.pk}-problems.csv")
