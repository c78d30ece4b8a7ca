from django.core.management.base import BaseCommand

from pledges.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Create the demo organization, team and campaign (safe to run again: changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--backers", type=int, default=500)

    def handle(self, *args, backers, **options):
        result = seed_demo(backers=backers)
        news = (
            f"{result.created_backers} new"
            if result.created_backers
            else "nothing new: already seeded"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo campaign “{result.campaign.name}” (slug {result.campaign.slug}): "
                f"{result.total_backers} backers, {news}."
            )
        )
        # The survey comes after the pledges in the flow; it seeds itself.
        from django.conf import settings
        from django.urls import reverse

        from orders.models import TaxRate
        from orders.services.taxes import seed_tax_rates
        from shipping.demo import seed_shipping_demo
        from surveys.demo import seed_survey_demo

        seed_shipping_demo(result.campaign)
        if not TaxRate.objects.filter(campaign=result.campaign).exists():
            seed_tax_rates(campaign=result.campaign)  # once: later deletions stay deleted

        invite, token = seed_survey_demo(
            campaign=result.campaign, owner_backer_email=DEMO_USERS[0][0]
        )
        site = settings.SITE_URL.rstrip("/")
        slug = result.campaign.slug
        self.stdout.write(
            f"Backer survey: {site}{reverse('survey-home', kwargs={'slug': slug})}\n"
            f"  walk it as backer “{invite.backer.name}” (a test response): "
            f"{site}{reverse('survey-open', kwargs={'slug': slug, 'token': token})}\n"
            f"  late-pledge store: {site}/s/{slug}/store/"
        )
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        for email, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {role}")
