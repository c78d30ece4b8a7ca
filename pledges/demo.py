"""Deterministic demo data: one organization, its team, one closed Kickstarter
campaign with ~500 backers in 25+ countries, and its SKU catalog: every tier
composed (with a dice colour choice), a German edition for DACH, two stretch
goals, three add-on offers and the mapping of the add-ons backers bought on the
platform. Same seed, same rows, so running the seed twice changes nothing."""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from djmoney.money import Money
from faker import Faker

from accounts.models import Membership, Organization, Role
from inventory.models import Sku
from surveys.models import AddOnOffer, AddOnOfferItem, ImportedAddOn

from .importers.addons import parse_addons_text
from .models import (
    Backer,
    BackerSource,
    Campaign,
    ChoiceGroup,
    ChoiceOption,
    PaymentStatus,
    Platform,
    Pledge,
    RegionalRule,
    Reward,
    RewardItem,
    StretchGoal,
)

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


# The organization's catalog: code, name, attributes, weight (g), box (mm),
# HS code, origin, customs description, customs value (USD), digital.
# Two SKUs lack an HS code on purpose: the map check has something to show.
# fmt: off
DEMO_SKUS = [
    ("SKY-CORE-EN", "Skyforge core box (English)", {"language": "en"}, 2350, (305, 305, 95), "950490", "CN", "Board game", "18.00", False),  # noqa: E501
    ("SKY-CORE-DE", "Skyforge core box (German)", {"language": "de"}, 2350, (305, 305, 95), "950490", "CN", "Board game", "18.00", False),  # noqa: E501
    ("SKY-EXP-EN", "Storm Front expansion", {"language": "en"}, 980, (305, 305, 50), "950490", "CN", "Board game expansion", "9.00", False),  # noqa: E501
    ("SKY-DICE-RED", "Airship dice set, red", {"colour": "red"}, 120, (90, 60, 30), "950490", "CN", "Plastic game dice", "2.50", False),  # noqa: E501
    ("SKY-DICE-BLU", "Airship dice set, blue", {"colour": "blue"}, 120, (90, 60, 30), "950490", "CN", "Plastic game dice", "2.50", False),  # noqa: E501
    ("SKY-DICE-GRN", "Airship dice set, green", {"colour": "green"}, 120, (90, 60, 30), "950490", "CN", "Plastic game dice", "2.50", False),  # noqa: E501
    ("SKY-SLEEVES", "Card sleeves (100)", {}, 90, (95, 70, 25), "392690", "CN", "Plastic card sleeves", "1.50", False),  # noqa: E501
    ("SKY-MAT", "Neoprene playmat", {}, 610, (360, 90, 90), "401699", "CN", "Rubber playmat", "6.00", False),  # noqa: E501
    ("SKY-COINS", "Metal coin pack (24)", {}, 340, (120, 90, 30), "830629", "CN", "Metal game tokens", "4.00", False),  # noqa: E501
    ("SKY-PROMO", "Early bird promo cards", {}, 40, (90, 65, 10), "", "CN", "Game cards", "0.50", False),  # noqa: E501
    ("SKY-ARTBOOK", "Skyforge art book", {}, 720, (300, 230, 15), "", "DE", "Printed art book", "7.00", False),  # noqa: E501
    ("SKY-RULES-PDF", "Digital rulebook (PDF)", {"language": "en"}, None, None, "", "", "", None, True),  # noqa: E501
    ("SKY-PNP", "Print & play files", {}, None, None, "", "", "", None, True),
]
# fmt: on
DICE = ["SKY-DICE-RED", "SKY-DICE-BLU", "SKY-DICE-GRN"]
# reward platform id → fixed items (code, quantity), dice sets per option (0: no choice)
COMPOSITION = {
    "10001": ([("SKY-PNP", 1), ("SKY-RULES-PDF", 1)], 0),
    "10002": ([("SKY-CORE-EN", 1), ("SKY-RULES-PDF", 1)], 0),
    "10003": ([("SKY-CORE-EN", 1), ("SKY-EXP-EN", 1), ("SKY-RULES-PDF", 1)], 1),
    "10004": (
        [
            ("SKY-CORE-EN", 1),
            ("SKY-EXP-EN", 1),
            ("SKY-MAT", 1),
            ("SKY-SLEEVES", 2),
            ("SKY-ARTBOOK", 1),
            ("SKY-RULES-PDF", 1),
        ],
        1,
    ),
    "10005": ([("SKY-CORE-EN", 6), ("SKY-EXP-EN", 6)], 6),
}
MID_TIER = "10003"
EARLY_BIRD_BEFORE = datetime(2026, 10, 3, 0, 0, tzinfo=UTC)
# name, price, stock limit, per-backer limit, items, tiers (empty: all), dice choice
ADDON_OFFERS = [
    ("Neoprene playmat", "25.00", 150, 2, [("SKY-MAT", 1)], [], False),
    ("Sleeve pack", "8.00", None, 5, [("SKY-SLEEVES", 1)], [], False),
    (
        "Accessory bundle",
        "32.00",
        None,
        1,
        [("SKY-MAT", 1), ("SKY-SLEEVES", 2)],
        ["10002", "10003", "10004", "10005"],
        True,
    ),
]
# Add-on texts as the platform wrote them → offer (None: left for the creator to map),
# and the price the platform charged per item (the playmat cost $22 during the campaign).
ADDON_TEXTS = {
    "Playmat": ("Neoprene playmat", Decimal("22.00")),
    "Sleeve pack": ("Sleeve pack", Decimal("8.00")),
    "Accessory bundle": ("Accessory bundle", Decimal("32.00")),
    "Extra dice set": (None, Decimal("12.00")),
}
PLEDGE_ADDONS = [
    "Playmat × 1",
    "Sleeve pack × 2",
    "Playmat × 1; Sleeve pack × 2",
    "Accessory bundle × 1",
    "Sleeve pack × 1; Extra dice set × 1",
    "Playmat × 2",
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
        _seed_pledge_addons(campaign)
        if campaign.sku_map_locked_at is None:  # a locked map is left as the creator locked it
            _seed_catalog(organization, campaign, rewards)
    return DemoResult(
        organization=organization,
        campaign=campaign,
        created_backers=len(new_backers),
        total_backers=Backer.objects.filter(campaign=campaign).count(),
    )


def _seed_pledge_addons(campaign: Campaign) -> None:
    """About a quarter of the shipping pledges bought add-ons on the platform;
    which ones follows from the backer id, so a re-run picks the same pledges."""
    pledges = list(
        Pledge.objects.filter(backer__campaign=campaign, addons_text="")
        .exclude(reward__platform_reward_id="10001")
        .exclude(reward__isnull=True)
        .select_related("backer")
        .order_by("pk")
    )
    changed = []
    for pledge in pledges:
        key = int(pledge.backer.platform_backer_id)
        if key % 100 >= 26:
            continue
        text = PLEDGE_ADDONS[(key // 100) % len(PLEDGE_ADDONS)]
        paid = sum(ADDON_TEXTS[item][1] * units for item, units in parse_addons_text(text))
        pledge.addons_text = text
        pledge.amount = Money(pledge.amount.amount + paid, campaign.currency)
        changed.append(pledge)
    Pledge.objects.bulk_update(changed, ["addons_text", "amount"], batch_size=500)


def _seed_catalog(organization: Organization, campaign: Campaign, rewards: dict) -> None:
    """The SKU catalog and the campaign's map; rows that exist are left as they are."""
    skus = {}
    for code, name, attributes, weight, box, hs, origin, customs, value, digital in DEMO_SKUS:
        length, width, height = box or (None, None, None)
        skus[code], _ = Sku.objects.get_or_create(
            organization=organization,
            code=code,
            defaults={
                "name": name,
                "attributes": attributes,
                "weight_g": weight,
                "length_mm": length,
                "width_mm": width,
                "height_mm": height,
                "hs_code": hs,
                "country_of_origin": origin,
                "customs_description": customs,
                "customs_value": Money(Decimal(value), "USD") if value else None,
                "is_digital": digital,
            },
        )

    for platform_id, (items, dice_per_option) in COMPOSITION.items():
        reward = rewards[platform_id]
        for code, quantity in items:
            RewardItem.objects.get_or_create(
                reward=reward, sku=skus[code], defaults={"quantity": quantity}
            )
        if dice_per_option:
            _dice_choice({"reward": reward}, campaign, skus, dice_per_option, default="red")

    RegionalRule.objects.get_or_create(
        campaign=campaign,
        name="German edition",
        defaults={
            "countries": ["DE", "AT", "CH"],
            "from_sku": skus["SKY-CORE-EN"],
            "to_sku": skus["SKY-CORE-DE"],
            "backer_can_override": True,
        },
    )
    StretchGoal.objects.get_or_create(
        campaign=campaign,
        name="Metal coins",
        defaults={"sku": skus["SKY-COINS"], "from_reward": rewards[MID_TIER], "position": 0},
    )
    StretchGoal.objects.get_or_create(
        campaign=campaign,
        name="Early bird promo cards",
        defaults={"sku": skus["SKY-PROMO"], "pledged_before": EARLY_BIRD_BEFORE, "position": 1},
    )

    offers = {}
    for position, (name, price, stock, per_backer, items, tiers, dice) in enumerate(ADDON_OFFERS):
        offer, created = AddOnOffer.objects.get_or_create(
            campaign=campaign,
            name=name,
            defaults={
                "price": Money(Decimal(price), campaign.currency),
                "stock_limit": stock,
                "per_backer_limit": per_backer,
                "position": position,
            },
        )
        if created and tiers:
            offer.tiers.set([rewards[t] for t in tiers])
        for code, quantity in items:
            AddOnOfferItem.objects.get_or_create(
                offer=offer, sku=skus[code], defaults={"quantity": quantity}
            )
        if dice:
            _dice_choice({"addon_offer": offer}, campaign, skus, 1, default="blue")
        offers[name] = offer

    for text, (offer_name, _price) in ADDON_TEXTS.items():
        ImportedAddOn.objects.get_or_create(
            campaign=campaign,
            text=text,
            defaults={"offer": offers[offer_name] if offer_name else None},
        )


def _dice_choice(owner: dict, campaign, skus: dict, per_option: int, *, default: str) -> None:
    """The “Dice colour: pick 1 of 3” choice on a reward or an offer, `per_option` sets each."""
    name = "Dice colour" if per_option == 1 else f"Dice colour ({per_option} sets)"
    group, created = ChoiceGroup.objects.get_or_create(
        campaign=campaign, name=name, **owner, defaults={"picks": 1}
    )
    if not created:
        return
    for position, code in enumerate(DICE):
        sku = skus[code]
        colour = sku.attributes["colour"]
        ChoiceOption.objects.create(
            group=group,
            label=colour.capitalize(),
            sku=sku,
            quantity=per_option,
            is_default=colour == default,
            position=position,
        )
