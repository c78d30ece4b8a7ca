"""Deterministic demo data: one organization, its team, one closed Kickstarter
campaign with ~500 backers in 25+ countries. Same seed, same rows, so running
the seed twice changes nothing."""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from djmoney.money import Money
from faker import Faker

from accounts.models import Membership, Organization, Role

from .models import Backer, BackerSource, Campaign, PaymentStatus, Platform, Pledge, Reward

DEMO_PASSWORD = "pledgeport-demo"
DEMO_USERS = [
    ("owner@example.com", "Olivia", "Ørsted", Role.OWNER),
    ("manager@example.com", "Mateo", "Núñez", Role.MANAGER),
    ("support@example.com", "Sanna", "Virtanen", Role.SUPPORT),
    ("warehouse@example.com", "Wiktor", "Zieliński", Role.WAREHOUSE),
]
CAMPAIGN_SLUG = "skyforge"

# (country, Faker locale, weight): roughly what a board game campaign sees.
COUNTRIES = [
    ("US", "en_US", 34),
    ("CA", "en_CA", 6),
    ("GB", "en_GB", 8),
    ("DE", "de_DE", 9),
    ("FR", "fr_FR", 5),
    ("AU", "en_AU", 4),
    ("NL", "nl_NL", 3),
    ("SE", "sv_SE", 2),
    ("ES", "es_ES", 2),
    ("IT", "it_IT", 2),
    ("PL", "pl_PL", 2),
    ("AT", "de_AT", 2),
    ("CH", "de_CH", 2),
    ("DK", "da_DK", 1),
    ("NO", "no_NO", 1),
    ("FI", "fi_FI", 1),
    ("BE", "nl_BE", 1),
    ("IE", "en_IE", 1),
    ("NZ", "en_NZ", 1),
    ("JP", "ja_JP", 2),
    ("KR", "ko_KR", 1),
    ("BR", "pt_BR", 1),
    ("MX", "es_MX", 1),
    ("CZ", "cs_CZ", 1),
    ("PT", "pt_PT", 1),
    ("GR", "el_GR", 1),
    ("HU", "hu_HU", 1),
    ("TW", "zh_TW", 1),
    ("IL", "he_IL", 1),
    ("RO", "ro_RO", 1),
]

REWARDS = [
    ("10001", "Print & Play", Decimal("15.00"), False),
    ("10002", "Core Game", Decimal("59.00"), True),
    ("10003", "Core Game + Expansion", Decimal("89.00"), True),
    ("10004", "Deluxe Collector's Edition", Decimal("149.00"), True),
    ("10005", "Retailer Bundle (6 copies)", Decimal("270.00"), True),
]


@dataclass
class DemoResult:
    organization: Organization
    campaign: Campaign
    created_backers: int
    total_backers: int


def _demo_users():
    User = get_user_model()
    users = []
    for email, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=email, defaults={"email": email, "first_name": first, "last_name": last}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        users.append((user, role))
    return users


def _address(fake: Faker, country: str, rng: random.Random) -> dict:
    state = ""
    for attr in ("state_abbr", "state", "province", "region", "administrative_unit"):
        if hasattr(fake, attr):
            state = getattr(fake, attr)()
            break
    if country not in {"US", "CA", "AU", "MX", "BR", "JP", "IT", "ES"}:
        state = ""  # most European addresses carry no region line
    return {
        "shipping_address_1": fake.street_address(),
        "shipping_address_2": rng.choice(["", "", "", f"Apt {rng.randint(1, 40)}"]),
        "shipping_city": fake.city(),
        "shipping_region": state,
        "shipping_postal_code": fake.postcode(),
        "shipping_phone": fake.phone_number() if rng.random() < 0.6 else "",
    }


def _break_address(address: dict, rng: random.Random) -> None:
    """Damage an address the way backers do: no postcode, no street, nonsense postcode."""
    kind = rng.choice(["postcode_missing", "street_missing", "postcode_garbled", "city_missing"])
    if kind == "postcode_missing":
        address["shipping_postal_code"] = ""
    elif kind == "street_missing":
        address["shipping_address_1"] = ""
    elif kind == "postcode_garbled":
        address["shipping_postal_code"] = "??" + address["shipping_postal_code"][:2]
    else:
        address["shipping_city"] = ""


def seed_demo(*, backers: int = 500, seed: int = 2026) -> DemoResult:
    """Create (or leave as is) the demo organization, team, campaign and backers."""
    rng = random.Random(seed)
    Faker.seed(seed)
    fakers = {locale: Faker(locale) for _, locale, _ in COUNTRIES}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)

    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(
            slug="northwind-games", defaults={"name": "Northwind Games"}
        )
        for user, role in _demo_users():
            Membership.objects.get_or_create(
                user=user, organization=organization, defaults={"role": role}
            )
        campaign, _ = Campaign.objects.get_or_create(
            slug=CAMPAIGN_SLUG,
            defaults={
                "organization": organization,
                "name": "Skyforge: Rise of the Airships",
                "platform": Platform.KICKSTARTER,
                "currency": "USD",
                "closed_on": date(2026, 10, 30),
                "survey_lock_at": datetime(2027, 1, 31, 23, 59, tzinfo=UTC),
                "primary_colour": "#1f4e79",
                "accent_colour": "#e07a1f",
                "intro_text": "Thank you for backing Skyforge! Confirm your reward, pick "
                "your add-ons and tell us where to ship.",
                "sender_name": "Northwind Games",
                "sender_email": "hello@northwind.example",
            },
        )
        rewards = {}
        for platform_id, title, minimum, _ships in REWARDS:
            reward, _ = Reward.objects.get_or_create(
                campaign=campaign,
                platform_reward_id=platform_id,
                defaults={"title": title, "minimum": Money(minimum, campaign.currency)},
            )
            rewards[platform_id] = reward

        existing = set(
            Backer.objects.filter(campaign=campaign).values_list("platform_backer_id", flat=True)
        )
        codes = [c for c, _, _ in COUNTRIES]
        weights = [w for _, _, w in COUNTRIES]
        reward_ids = [r[0] for r in REWARDS]
        reward_weights = [6, 45, 30, 16, 3]
        start = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
        new_backers, new_pledges = [], []
        backer_number, shared_emails = 0, []
        for i in range(backers):
            backer_number += rng.choice([1, 1, 1, 1, 1, 1, 1, 1, 2])  # gaps: cancelled pledges
            uid = str(1_000_000_000 + rng.randrange(10**9))
            country = rng.choices(codes, weights)[0]
            fake = fakers[dict((c, loc) for c, loc, _ in COUNTRIES)[country]]
            name = fake.name()
            email = f"{fake.user_name()}{rng.randint(1, 999)}@{fake.free_email_domain()}"
            if i % 97 == 13:  # a few people reuse an email under a second backer id
                shared_emails.append(email)
            if i % 97 == 50 and shared_emails:
                email = "  " + shared_emails[-1].upper() + " "
            reward_id = rng.choices(reward_ids, reward_weights)[0]
            minimum, ships = next((r[2], r[3]) for r in REWARDS if r[0] == reward_id)
            roll = rng.random()
            status = (
                PaymentStatus.DROPPED
                if roll < 0.04
                else PaymentStatus.ERRORED
                if roll < 0.06
                else PaymentStatus.COLLECTED
            )
            bonus = Decimal(rng.choice([0, 0, 0, 0, 5, 10, 25]))
            shipping = Decimal(rng.choice([0, 10, 15, 20, 25])) if ships else Decimal(0)
            address = _address(fake, country, rng) if ships else {}
            if ships and rng.random() < 0.05:
                _break_address(address, rng)
            pledged_at = start + timedelta(minutes=rng.randrange(60 * 24 * 29))
            if uid in existing:  # every draw above happens anyway: same seed, same rows
                continue
            backer = Backer(
                campaign=campaign,
                platform=Platform.KICKSTARTER,
                platform_backer_id=uid,
                backer_number=backer_number,
                name=name,
                email=email.strip(),
                email_normalized=email.strip().lower(),
                source=BackerSource.CAMPAIGN,
            )
            new_backers.append(backer)
            new_pledges.append(
                Pledge(
                    backer=backer,
                    reward=rewards[reward_id],
                    amount=Money(minimum + bonus + shipping, campaign.currency),
                    shipping_paid=Money(shipping, campaign.currency),
                    bonus_support=Money(bonus, campaign.currency),
                    pledged_at=pledged_at,
                    payment_status=status,
                    shipping_name=name if ships else "",
                    shipping_country=country if ships else "",
                    extra={"Rewards Sent?": "", "Notes": ""},
                    **address,
                )
            )
        Backer.objects.bulk_create(new_backers, batch_size=500)
        for pledge in new_pledges:
            pledge.backer_id = pledge.backer.pk
        Pledge.objects.bulk_create(new_pledges, batch_size=500)
        for reward in rewards.values():
            reward.backer_count = reward.pledges.count()
            reward.save(update_fields=["backer_count"])
        # Shared emails in the demo are flagged for review, as an import would.
        from .duplicates import flag_duplicates

        flag_duplicates(campaign=campaign)
    return DemoResult(
        organization=organization,
        campaign=campaign,
        created_backers=len(new_backers),
        total_backers=Backer.objects.filter(campaign=campaign).count(),
    )
