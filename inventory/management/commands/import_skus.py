from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.models import SkuImportState
from inventory.services import skus as sku_services
from inventory.services.skus import describe_problem
from pledges.models import Campaign


class Command(BaseCommand):
    help = (
        "Import a SKU list (CSV or .xlsx, the header of the SKU export) into the catalog of "
        "the campaign's organization. Exits 1 when the file has blocking problems."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check only, change nothing")

    def handle(self, *args, campaign_slug, file, dry_run, **options):
        campaign = (
            Campaign.objects.select_related("organization").filter(slug=campaign_slug).first()
        )
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            sku_services.ensure_import_size(file.stat().st_size)
            data = file.read_bytes()
            if dry_run:
                check = sku_services.check_sku_file(
                    organization=campaign.organization,
                    data=data,
                    original_name=file.name,
                    default_currency=campaign.currency,
                )
                counts, problems = check.counts(), check.problem_rows()
                run = None
            else:
                run = sku_services.create_sku_import(
                    campaign=campaign, data=data, original_name=file.name
                )
                counts, problems = run.counts, run.problems
        except sku_services.SkuCatalogError as exc:
            raise CommandError(exc.message) from exc

        self._report(counts, problems)
        if counts["blocking"]:
            raise CommandError(
                "Nothing was imported: the file has blocking problems (listed above)."
            )
        if dry_run:
            self.stdout.write(self.style.SUCCESS("Dry run: nothing changed."))
            return
        try:
            run = sku_services.apply_sku_import(sku_import=run)
        except sku_services.SkuCatalogError as exc:
            raise CommandError(exc.message) from exc
        if run.state != SkuImportState.APPLIED:
            self._report(run.counts, run.problems)
            raise CommandError("Nothing was imported: the file has blocking problems.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Applied (SKU import #{run.pk}): {run.counts['new']} new, "
                f"{run.counts['updated']} updated."
            )
        )

    def _report(self, counts: dict, problems: list[dict]) -> None:
        self.stdout.write(
            f"{counts['rows']} rows: {counts['new']} new, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged; {counts['problems']} problems "
            f"({counts['blocking']} blocking)."
        )
        for problem in problems:
            flag = "" if problem["blocking"] else " (not blocking)"
            self.stdout.write(f"  {describe_problem(problem)}{flag}")
