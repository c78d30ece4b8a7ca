"""The life of an ImportRun: upload → (mapping) → dry run → apply.

Every step is safe to run twice: the task re-reads the run's state under a row
lock and does nothing when another delivery already did the work."""

import hashlib
import logging
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from ..errors import ImportRefused, ImportStateError
from ..importers import formats
from ..importers.pipeline import ImportOutcome, NeedsMapping, import_file, peek_header
from ..importers.problems import Problem, UnreadableFile
from ..models import (
    BackerSource,
    Campaign,
    ImportFormat,
    ImportMapping,
    ImportProblem,
    ImportRun,
    ImportState,
)

PROBLEMS_STORED = 5000
logger = logging.getLogger(__name__)


def _progress_key(run_id: int) -> str:
    return f"pledgeport:import-progress:{run_id}"


def import_progress(*, run: ImportRun) -> dict:
    """{"phase", "done", "total", "percent"} of a running import (cache first, the row else)."""
    data = cache.get(_progress_key(run.pk)) or {
        "phase": run.get_state_display(),
        "done": run.rows_done,
        "total": run.rows_total,
    }
    total = data["total"] or 0
    data["percent"] = min(99, round(100 * data["done"] / total)) if total else 0
    return data


def _progress_writer(run: ImportRun):
    def write(phase: str, done: int, total: int) -> None:
        # The cache, not the row: the import's own transaction would hide the row.
        cache.set(_progress_key(run.pk), {"phase": phase, "done": done, "total": total}, 3600)

    return write


def _refuse_if_too_big(size: int) -> None:
    if size > settings.IMPORT_MAX_BYTES:
        raise ImportRefused(
            f"The file is {filesizeformat(size)}; the limit is "
            f"{filesizeformat(settings.IMPORT_MAX_BYTES)}."
        )


def _store_run(*, campaign, content: File, name: str, size: int, fmt, source, actor) -> ImportRun:
    """Hash and store a report under a new ImportRun (the saved column mapping
    comes along for "other" files)."""
    digest = hashlib.sha256()
    for chunk in content.chunks():
        digest.update(chunk)
    content.seek(0)
    run = ImportRun.objects.create(
        campaign=campaign,
        created_by=actor,
        original_name=Path(name or "upload").name[:300],
        file_hash=digest.hexdigest(),
        file_size=size,
        format=fmt,
        source=source,
    )
    run.file.save("upload", content, save=False)
    saved = ImportMapping.objects.filter(campaign=campaign).first()
    if fmt == ImportFormat.MAPPED and saved:
        run.mapping = saved.mapping
    run.save(update_fields=["file", "mapping"])
    return run


def create_import_run(
    *,
    campaign: Campaign,
    upload: UploadedFile,
    fmt: str = ImportFormat.AUTO,
    source: str = BackerSource.CAMPAIGN,
    actor,
) -> ImportRun:
    """Store an uploaded report for `campaign` and queue its dry run.

    Refuses files above IMPORT_MAX_BYTES before storing anything."""
    _refuse_if_too_big(upload.size)
    with transaction.atomic():
        run = _store_run(
            campaign=campaign,
            content=upload,
            name=upload.name,
            size=upload.size,
            fmt=fmt,
            source=source,
            actor=actor,
        )
        _queue_preview(run)
    return run


def create_import_run_from_path(
    *,
    campaign: Campaign,
    path: Path,
    fmt: str = ImportFormat.AUTO,
    source: str = BackerSource.CAMPAIGN,
    actor=None,
) -> ImportRun:
    """The same for a file on disk (the command line); nothing is queued."""
    size = path.stat().st_size
    _refuse_if_too_big(size)
    with path.open("rb") as handle:
        return _store_run(
            campaign=campaign,
            content=File(handle),
            name=path.name,
            size=size,
            fmt=fmt,
            source=source,
            actor=actor,
        )


def _queue_preview(run: ImportRun) -> None:
    from ..tasks import preview_import_task

    transaction.on_commit(lambda: preview_import_task.delay(run.pk))


def previous_applied_run(*, run: ImportRun) -> ImportRun | None:
    return (
        ImportRun.objects.filter(
            campaign_id=run.campaign_id, file_hash=run.file_hash, state=ImportState.APPLIED
        )
        .exclude(pk=run.pk)
        .order_by("-applied_at")
        .first()
    )


def _store_outcome(run: ImportRun, outcome: ImportOutcome) -> None:
    run.rows_total = run.rows_done = outcome.rows
    run.counts = outcome.counts()
    previous = previous_applied_run(run=run)
    if previous:
        run.counts["already_imported_run"] = previous.pk
    run.samples = {**outcome.samples, "formats": outcome.formats}
    run.diff = outcome.diff
    if outcome.formats:
        run.detected_format = ",".join(outcome.formats)
    run.problems.all().delete()
    ImportProblem.objects.bulk_create(
        [
            ImportProblem(
                run=run,
                file=p.file or "",
                line=p.line,
                column=p.column or "",
                message=p.message,
                blocking=p.blocking,
            )
            for p in outcome.problems[:PROBLEMS_STORED]
        ],
        batch_size=1000,
    )


def run_preview(*, run_id: int) -> ImportRun | None:
    """The dry run: counts, samples, problems, diff; changes no backer.

    It holds the campaign row like an apply does: its trial writes would
    otherwise collide with an apply of the same campaign running at once."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().select_related("campaign").get(pk=run_id)
        if run.state not in (ImportState.UPLOADED, ImportState.PREVIEWING):
            return None
        run.state = ImportState.PREVIEWING
        run.save(update_fields=["state"])
    try:
        with transaction.atomic():
            Campaign.objects.select_for_update().get(pk=run.campaign_id)
            outcome = import_file(
                campaign=run.campaign,
                path=Path(run.file.path),
                original_name=run.original_name,
                fmt=_pipeline_format(run),
                mapping=run.mapping or None,
                run=None,
                apply=False,
                progress=_progress_writer(run),
                source=run.source,
            )
    except NeedsMapping as exc:
        run.state = ImportState.NEEDS_MAPPING
        run.samples = {"header": exc.header, "sheet": exc.sheet}
        run.save(update_fields=["state", "samples"])
        return run
    except Exception as exc:  # noqa: BLE001 - logged with its traceback, shown on the run
        _fail(run, exc)
        return ImportRun.objects.get(pk=run.pk)
    _store_outcome(run, outcome)
    run.state = ImportState.PREVIEWED if outcome.ok else ImportState.BLOCKED
    run.finished_at = timezone.now()
    run.save()
    cache.delete(_progress_key(run.pk))
    return run


def _fail(run: ImportRun, exc: Exception) -> None:
    """An unexpected error ends the run as failed (with what went wrong) instead of
    leaving it "checking" forever; the file can be uploaded again."""
    logger.exception("Import #%s failed", run.pk)
    ImportRun.objects.filter(pk=run.pk).update(
        state=ImportState.FAILED,
        finished_at=timezone.now(),
        error=f"{type(exc).__name__}: {exc}"[:2000],
    )
    cache.delete(_progress_key(run.pk))


def _pipeline_format(run: ImportRun) -> str:
    if run.format == ImportFormat.MAPPED:
        return "mapped"
    return run.format or "auto"


def save_mapping(*, run: ImportRun, mapping: dict[str, str], actor) -> ImportRun:
    """Use `mapping` (field → column) for this run, remember it for the campaign's
    next file, and start the dry run again."""
    mapping = {k: v for k, v in mapping.items() if v}
    try:
        _name, header, _rows = peek_header(Path(run.file.path), original_name=run.original_name)
    except UnreadableFile as exc:
        raise ImportRefused(str(exc.problem)) from exc
    errors = formats.ColumnMapping(mapping).errors(header)
    if errors:
        raise ImportRefused(" ".join(errors))
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.state not in (ImportState.NEEDS_MAPPING, ImportState.PREVIEWED, ImportState.BLOCKED):
            raise ImportStateError("This import is busy or already applied.")
        run.mapping = mapping
        run.format = ImportFormat.MAPPED
        run.state = ImportState.UPLOADED
        run.save(update_fields=["mapping", "format", "state"])
        ImportMapping.objects.update_or_create(campaign=run.campaign, defaults={"mapping": mapping})
        _queue_preview(run)
    return run


def request_apply(*, run: ImportRun, actor) -> ImportRun:
    """Queue applying a checked file. Refused while it has blocking problems."""
    from ..tasks import apply_import_task

    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.state == ImportState.BLOCKED:
            raise ImportStateError("Fix the blocking problems and upload the file again.")
        if run.state != ImportState.PREVIEWED:
            raise ImportStateError(
                f"This import cannot be applied now ({run.get_state_display()})."
            )
        run.state = ImportState.APPLYING
        run.save(update_fields=["state"])
        transaction.on_commit(lambda: apply_import_task.delay(run.pk))
    return run


def run_apply(*, run_id: int, progress=None) -> ImportRun | None:
    """Apply a run in one transaction; a second delivery finds it applied and stops.

    The campaign row is locked so two imports of one campaign never interleave."""
    try:
        with transaction.atomic():
            run = ImportRun.objects.select_for_update().select_related("campaign").get(pk=run_id)
            if run.state != ImportState.APPLYING:
                return None
            Campaign.objects.select_for_update().get(pk=run.campaign_id)
            try:
                outcome = import_file(
                    campaign=run.campaign,
                    path=Path(run.file.path),
                    original_name=run.original_name,
                    fmt=_pipeline_format(run),
                    mapping=run.mapping or None,
                    run=run,
                    apply=True,
                    progress=progress or _progress_writer(run),
                    source=run.source,
                )
            except NeedsMapping:
                outcome = ImportOutcome(blocking=1, problem_count=1)
                outcome.problems.append(
                    Problem(
                        file=run.original_name, line=1, column=None, message="map the columns first"
                    )
                )
            _store_outcome(run, outcome)
            if outcome.applied:
                # New or changed rewards: the survey pages' cached maps are stale.
                from inventory import bom  # inventory builds on pledges

                bom.catalog_changed(campaign=run.campaign_id)
            run.state = ImportState.APPLIED if outcome.applied else ImportState.BLOCKED
            run.finished_at = timezone.now()
            if outcome.applied:
                run.applied_at = run.finished_at
            run.save()
    except Exception as exc:  # noqa: BLE001 - logged with its traceback, shown on the run
        _fail(ImportRun(pk=run_id), exc)
        return ImportRun.objects.get(pk=run_id)
    cache.delete(_progress_key(run.pk))
    return run


def apply_now(*, run: ImportRun, progress=None) -> ImportRun:
    """Check and apply in one go (the command line): one read of the file; with
    blocking problems nothing changes and the run ends blocked."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.state not in (ImportState.UPLOADED, ImportState.PREVIEWED):
            raise ImportStateError(
                f"This import cannot be applied now ({run.get_state_display()})."
            )
        run.state = ImportState.APPLYING
        run.save(update_fields=["state"])
    return run_apply(run_id=run.pk, progress=progress)
