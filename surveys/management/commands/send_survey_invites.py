import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pledges.models import Campaign
from surveys.errors import SurveysError
from surveys.services import invites
from surveys.services.responses import survey_for

MINUTE = 60


class Command(BaseCommand):
    help = (
        "Invite a campaign's eligible backers and email the invites at the survey's pace "
        "(emails a minute). --test sends the smoke test to the team instead. Exits 1 when "
        "the survey's state refuses it."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_slug")
        parser.add_argument(
            "--test", action="store_true", help="send test invites to the team (smoke test)"
        )
        parser.add_argument("--limit", type=int, default=None, help="send at most N invites")

    def handle(self, *args, campaign_slug, test, limit, **options):
        campaign = (
            Campaign.objects.select_related("organization").filter(slug=campaign_slug).first()
        )
        if campaign is None:
            raise CommandError(f"No campaign with the slug {campaign_slug!r}.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        survey = survey_for(campaign)
        survey.campaign = campaign
        try:
            if test:
                sent = invites.send_test_invites(survey=survey)
                self.stdout.write(f"{sent} test invites sent to the team.")
                return
            made = invites.create_invites(survey=survey)
            self.stdout.write(f"{made} new invites.")
            sent = self._send(survey, limit=limit, quiet=options["verbosity"] == 0)
        except SurveysError as exc:
            raise CommandError(exc.message) from exc
        failed = invites.invite_counts(survey=survey)["failed"]
        self.stdout.write(f"{sent} invites sent; {failed} failed in all.")

    def _send(self, survey, *, limit: int | None, quiet: bool) -> int:
        """Batches of send_per_minute, a minute apart, until done or `limit` is reached."""
        total = invites.unsent_invites(survey=survey).count()
        if limit is not None:
            total = min(total, limit)
        sent = handled = 0
        with tqdm(total=total, unit=" emails", disable=quiet, dynamic_ncols=True) as bar:
            while handled < total:
                started = time.monotonic()
                batch = min(survey.send_per_minute, total - handled)
                before = invites.unsent_invites(survey=survey).count()
                sent += invites.send_invite_batch(survey=survey, limit=batch)
                moved = before - invites.unsent_invites(survey=survey).count()
                if moved <= 0:
                    break  # held by a parallel sender
                handled += moved
                bar.update(moved)
                if handled < total:
                    time.sleep(max(0.0, MINUTE - (time.monotonic() - started)))
        return sent
