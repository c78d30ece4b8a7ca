from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pledges.errors import PledgesError
from pledges.importers.pipeline import NeedsMapping, import_file
from pledges.models import BackerSource, Campaign, ImportFormat, ImportMapping, ImportState
from pledges.services import imports as import_services

FORMATS = [c for c, _ in ImportFormat.choices]


class Command(BaseCommand):
    help = (
        "Import a backer report (Kickstarter ZIP/CSV, Indiegogo CSV, or a CSV/XLSX with the "
        "campaign's saved column mapping). Exits 1 when the file has blocking problems."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check only, change nothing")
        parser.add_argument("--format", choices=FORMATS, default=ImportFormat.AUTO)
        parser.add_argument("--max-problems", type=int, default=50, help="problems to list")
        parser.add_argument(
            "--source",
            choices=[c for c, _ in BackerSource.choices],
            default=BackerSource.CAMPAIGN,
            help="where these backers come from (campaign, late_pledge, manual)",
        )

    def handle(self, *args, campaign_slug, file, dry_run, format, max_problems, source, **options):
        campaign = Campaign.objects.filter(slug=campaign_slug).first()
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        saved = ImportMapping.objects.filter(campaign=campaign).first()
        mapping = (
            saved.mapping if saved and format in (ImportFormat.MAPPED, ImportFormat.AUTO) else None
        )

        bar = tqdm(total=0, unit=" rows", disable=options["verbosity"] == 0, dynamic_ncols=True)

        def progress(phase, done, total):
            bar.set_description(phase)
            bar.total = max(total, done)
            bar.update(done - bar.n)

        try:
            if dry_run:
                outcome = import_file(
                    campaign=campaign,
                    path=file,
                    original_name=file.name,
                    fmt="mapped" if format == ImportFormat.MAPPED else format,
                    mapping=mapping,
                    apply=False,
                    progress=progress,
                    source=source,
                )
                run = None
            else:
                run = import_services.create_import_run_from_path(
                    campaign=campaign, path=file, fmt=format, source=source
                )
                if mapping:
                    run.mapping = mapping
                    run.save(update_fields=["mapping"])
                run = import_services.apply_now(run=run, progress=progress)
                outcome = None
        except NeedsMapping as exc:
            raise CommandError(
                f"{exc.sheet}: the columns match no known report. Map them once on the "
                "import page (the mapping is saved for the campaign), or pass --format."
            ) from exc
        except PledgesError as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()

        if run is not None and run.state == ImportState.FAILED:
            raise CommandError(f"Import #{run.pk} failed: {run.error}")
        counts = outcome.counts() if outcome else run.counts
        problems = outcome.problems if outcome else list(run.problems.all()[:max_problems])
        self.stdout.write(
            f"{counts['rows']} rows: {counts['new']} new, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged; {counts['problems']} problems "
            f"({counts['blocking']} blocking)."
        )
        if counts.get("already_imported_run"):
            self.stdout.write(
                f"This file was already imported (run #{counts['already_imported_run']})."
            )
        for problem in problems[:max_problems]:
            self.stdout.write(f"  {problem}")
        if counts["problems"] > max_problems:
            self.stdout.write(f"  … and {counts['problems'] - max_problems} more.")
        if counts["blocking"]:
            raise CommandError(
                "Nothing was imported: the file has blocking problems (listed above)."
            )
        if dry_run:
            self.stdout.write(self.style.SUCCESS("Dry run: nothing changed."))
        elif run.state == ImportState.APPLIED:
            self.stdout.write(self.style.SUCCESS(f"Applied (import #{run.pk})."))
