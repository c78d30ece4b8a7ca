from decimal import Decimal

from django.core.management.base import BaseCommand

from pledges.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo

# 1 USD in each currency of an import limit, as a creator would set them.
DEMO_EXCHANGE_RATES = {
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "AUD": Decimal("1.52"),
    "NOK": Decimal("10.60"),
}


class Command(BaseCommand):
    help = "Create the demo organization, team and campaign (safe to run again: changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--backers", type=int, default=500)

    def handle(self, *args, backers, **options):
        import logging

        # Tasks run in-process here: one log line per task would bury the summary.
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
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
        from orders.services.taxes import seed_tax_rates, set_exchange_rate, update_tax_settings
        from shipping.demo import seed_shipping_demo
        from surveys.demo import seed_survey_demo

        seed_shipping_demo(result.campaign)
        if not TaxRate.objects.filter(campaign=result.campaign).exists():
            seed_tax_rates(campaign=result.campaign)  # once: later deletions stay deleted
            update_tax_settings(
                campaign=result.campaign,
                seller_name="Northwind Games Ltd",
                seller_address="12 Harbour Street\nPortland, OR 97201",
                seller_country="US",
                ioss_number="IM2760000001",  # an EU IOSS registration (intermediary format)
            )
            # Dated rates the import limits need (€150, £135, A$1,000, NOK 3,000).
            closed = result.campaign.closed_on
            for currency, rate in DEMO_EXCHANGE_RATES.items():
                set_exchange_rate(
                    campaign=result.campaign, quote_currency=currency, rate=rate, valid_from=closed
                )

        invite, token = seed_survey_demo(
            campaign=result.campaign, owner_backer_email=DEMO_USERS[0][0]
        )
        from orders.demo import seed_orders_demo

        orders = seed_orders_demo(result.campaign)
        paid = f", {orders.paid_now} balances paid (test gateway)" if orders.paid_now else ""
        self.stdout.write(
            f"Orders: {orders.orders} built, {orders.ready} ready, "
            f"{orders.on_hold} waiting in the review queue{paid}"
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
