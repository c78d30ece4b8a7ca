"""Property: the demand report is the sum of every counted pledge's BOM.

Random small campaigns (rewards with items, choice groups on rewards and
add-ons, regional rules, stretch goals by tier and by date, imported add-on
texts mapped or not, countries, pledge dates on and around the cut-offs,
payment states, merged backers): for each, units per SKU and destination,
pending choices and unmapped add-ons must equal what bom_for_pledge gives
pledge by pledge."""

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from djmoney.money import Money
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.bom import bom_for_pledge, sku_totals
from inventory.demand import demand_report
from inventory.regions import region_for
from pledges.models import (
    ChoiceGroup,
    ChoiceOption,
    PaymentStatus,
    Pledge,
    RegionalRule,
    RewardItem,
    StretchGoal,
)
from surveys.models import AddOnOfferItem, ImportedAddOn
from tests.factories import (
    AddOnOfferFactory,
    BackerFactory,
    CampaignFactory,
    OrganizationFactory,
    PledgeFactory,
    RewardFactory,
    SkuFactory,
)

CUTOFFS = [datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 8, 12, tzinfo=UTC)]
# Dates before, exactly at, between and after the cut-offs, and no date at all.
DATES = [
    None,
    datetime(2026, 10, 1, tzinfo=UTC),
    CUTOFFS[0],
    datetime(2026, 10, 6, tzinfo=UTC),
    CUTOFFS[1],
    datetime(2026, 10, 20, tzinfo=UTC),
]
COUNTRIES = ["US", "DE", "AT", "GB", "JP", ""]
RULE_COUNTRIES = ["DE", "AT", "GB", "US"]
TEXTS = ["Dice Tower", "Playmat", "Sleeves (pack of 50)", "Metal coins"]
STATUSES = [PaymentStatus.COLLECTED] * 4 + [PaymentStatus.DROPPED, PaymentStatus.ERRORED]

index = st.integers(min_value=0, max_value=9)  # taken modulo the list it points into
# Mostly an index, sometimes nothing (a pledge without reward, a goal for every tier…).
maybe_index = st.sampled_from([None, 0, 1, 2, 3, 4])
items = st.lists(
    st.tuples(index, st.integers(1, 3)), min_size=1, max_size=3, unique_by=lambda item: item[0]
)
rarely = st.sampled_from([False, False, False, True])

campaign_specs = st.fixed_dictionaries(
    {
        "skus": st.integers(2, 5),
        "rewards": st.lists(
            st.fixed_dictionaries({"minimum": st.sampled_from([15, 59, 149]), "items": items}),
            min_size=1,
            max_size=3,
        ),
        "offers": st.lists(items, min_size=1, max_size=2),
        "groups": st.lists(
            st.fixed_dictionaries(
                {
                    "on_offer": st.booleans(),
                    "owner": index,
                    "picks": st.integers(1, 2),
                    "repeats": st.booleans(),
                    "options": st.lists(
                        st.tuples(index, st.integers(1, 2), st.booleans()),
                        min_size=1,
                        max_size=3,
                    ),
                }
            ),
            max_size=3,
        ),
        "rules": st.lists(
            st.fixed_dictionaries(
                {
                    "countries": st.lists(
                        st.sampled_from(RULE_COUNTRIES), min_size=1, max_size=3, unique=True
                    ),
                    "from": index,
                    "to": index,
                    "override": st.booleans(),
                }
            ),
            min_size=1,
            max_size=2,
        ),
        "goals": st.lists(
            st.fixed_dictionaries(
                {
                    "sku": index,
                    "quantity": st.integers(1, 2),
                    "from_reward": maybe_index,
                    "before": st.none() | st.sampled_from(CUTOFFS),
                }
            ),
            max_size=3,
        ),
        # per text: no mapping row, or a row (offer index or None, units, included)
        "imported": st.lists(
            st.none()
            | st.fixed_dictionaries(
                {
                    "offer": maybe_index,
                    "units": st.integers(1, 2),
                    "included": rarely,
                }
            ),
            min_size=len(TEXTS),
            max_size=len(TEXTS),
        ),
        # Pledge kinds (reward, destination, add-ons), each pledged by a few backers
        # on various dates with various payment states, so groups of several
        # pledges and dates on both sides of a cut-off are common.
        "pledges": st.lists(
            st.fixed_dictionaries(
                {
                    "reward": maybe_index,
                    "country": st.sampled_from(COUNTRIES),
                    "addons": st.lists(
                        st.tuples(st.sampled_from(TEXTS), st.integers(1, 3)),
                        max_size=3,
                        unique_by=lambda a: a[0],
                    ),
                    "copies": st.lists(
                        st.tuples(st.sampled_from(DATES), st.sampled_from(STATUSES), rarely),
                        min_size=1,
                        max_size=4,
                    ),
                }
            ),
            min_size=1,
            max_size=5,
        ),
    }
)


def build(spec) -> tuple:
    """Create the campaign of `spec`; returns it and the pledges the report must count."""
    organization = OrganizationFactory()
    campaign = CampaignFactory(organization=organization)
    skus = [SkuFactory(organization=organization) for _ in range(spec["skus"])]

    def sku(i):
        return skus[i % len(skus)]

    rewards = []
    for r in spec["rewards"]:
        reward = RewardFactory(campaign=campaign, minimum=Money(Decimal(r["minimum"]), "USD"))
        for i, quantity in r["items"]:
            RewardItem.objects.get_or_create(
                reward=reward, sku=sku(i), defaults={"quantity": quantity}
            )
        rewards.append(reward)
    offers = []
    for offer_items in spec["offers"]:
        offer = AddOnOfferFactory(campaign=campaign)
        for i, quantity in offer_items:
            AddOnOfferItem.objects.get_or_create(
                offer=offer, sku=sku(i), defaults={"quantity": quantity}
            )
        offers.append(offer)
    for position, g in enumerate(spec["groups"]):
        owner = (
            {"addon_offer": offers[g["owner"] % len(offers)]}
            if g["on_offer"] and offers
            else {"reward": rewards[g["owner"] % len(rewards)]}
        )
        group = ChoiceGroup.objects.create(
            campaign=campaign,
            name=f"Choice {position}",
            picks=g["picks"],
            allow_repeats=g["repeats"],
            position=position,
            **owner,
        )
        for n, (i, quantity, is_default) in enumerate(g["options"]):
            ChoiceOption.objects.create(
                group=group,
                label=f"Option {n}",
                sku=sku(i),
                quantity=quantity,
                is_default=is_default,
                position=n,
            )
    for position, r in enumerate(spec["rules"]):
        RegionalRule.objects.create(
            campaign=campaign,
            name=f"Rule {position}",
            countries=r["countries"],
            from_sku=sku(r["from"]),
            to_sku=sku(r["to"]),
            backer_can_override=r["override"],
            position=position,
        )
    for position, g in enumerate(spec["goals"]):
        StretchGoal.objects.create(
            campaign=campaign,
            name=f"Goal {position}",
            sku=sku(g["sku"]),
            quantity=g["quantity"],
            from_reward=None
            if g["from_reward"] is None
            else rewards[g["from_reward"] % len(rewards)],
            pledged_before=g["before"],
            position=position,
        )
    for text, mapping in zip(TEXTS, spec["imported"], strict=True):
        if mapping is None:
            continue
        ImportedAddOn.objects.create(
            campaign=campaign,
            text=text,
            offer=offers[mapping["offer"] % len(offers)]
            if offers and mapping["offer"] is not None
            else None,
            units_per_item=mapping["units"],
            included_in_reward=mapping["included"],
        )

    survivor = BackerFactory(campaign=campaign)  # merged backers are merged into this one
    counted = []
    for p in spec["pledges"]:
        for pledged_at, status, merged in p["copies"]:
            pledge = PledgeFactory(
                backer=BackerFactory(campaign=campaign, merged_into=survivor if merged else None),
                reward=None if p["reward"] is None else rewards[p["reward"] % len(rewards)],
                shipping_country=p["country"],
                pledged_at=pledged_at,
                addons_text="; ".join(f"{text} × {quantity}" for text, quantity in p["addons"]),
                payment_status=status,
            )
            if status == PaymentStatus.COLLECTED and not merged:
                counted.append(pledge.pk)
    # Another campaign of the same creator, with a pledge that must never count.
    other = RewardFactory(campaign=CampaignFactory(organization=organization))
    RewardItem.objects.create(reward=other, sku=skus[0])
    PledgeFactory(backer=BackerFactory(campaign=other.campaign), reward=other)
    return campaign, counted


def expected_figures(pledge_ids, destination) -> dict:
    """Demand computed the slow way: bom_for_pledge for each counted pledge."""
    units, pending, unmapped, pledges = Counter(), Counter(), Counter(), Counter()
    for pledge in Pledge.objects.filter(pk__in=pledge_ids).select_related("backer"):
        lines = bom_for_pledge(pledge=pledge)
        dest = destination(str(pledge.shipping_country or ""))
        pledges[dest] += 1
        for sku_id, quantity in sku_totals(lines).items():
            units[(sku_id, dest)] += quantity
        for line in lines:
            if line.source == "choice_pending":
                pending[(line.group_id, dest)] += line.quantity
            elif line.source == "addon_unmapped":
                unmapped[(line.detail, dest)] += line.quantity
    return {"units": units, "pending": pending, "unmapped": unmapped, "pledges": pledges}


def report_figures(report) -> dict:
    keys = [d.key for d in report.destinations]
    units, pending, unmapped = Counter(), Counter(), Counter()
    for row in report.rows:
        assert row.total == sum(row.by_destination)
        for key, quantity in zip(keys, row.by_destination, strict=True):
            units[(row.sku.pk, key)] += quantity
    for choice in report.pending_choices:
        assert choice.total == sum(choice.by_destination)
        assert choice.total == sum(units for _, units in choice.defaults) or not choice.defaults
        for key, quantity in zip(keys, choice.by_destination, strict=True):
            pending[(choice.group_id, key)] += quantity
    for addon in report.unmapped_addons:
        for key, quantity in zip(keys, addon.by_destination, strict=True):
            unmapped[(addon.text, key)] += quantity
    # Counter equality ignores zero cells only after +Counter() drops them.
    return {
        "units": +units,
        "pending": +pending,
        "unmapped": +unmapped,
        "pledges": +Counter({d.key: d.pledges for d in report.destinations}),
    }


def country_key(code: str) -> str:
    return code.upper()


@pytest.mark.django_db
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=campaign_specs)
def test_demand_report_is_the_sum_of_every_counted_pledges_bom(spec):
    with transaction.atomic():
        campaign, counted = build(spec)
        for by, destination in (("country", country_key), ("region", region_for)):
            report = demand_report(campaign=campaign, by=by)
            expected = expected_figures(counted, destination)

            assert report.pledges_counted == len(counted)
            assert report_figures(report) == {k: +v for k, v in expected.items()}
            assert report.grand_total == sum(expected["units"].values())
            assert report.column_totals == [
                sum(q for (_, dest), q in expected["units"].items() if dest == d.key)
                for d in report.destinations
            ]
            totals = Counter()
            for (sku_id, _), quantity in expected["units"].items():
                totals[sku_id] += quantity
            assert report.units_by_sku() == dict(+totals)
        transaction.set_rollback(True)
