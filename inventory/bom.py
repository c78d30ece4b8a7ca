"""Bill of materials: what one pledge turns into, SKU by SKU.

Everything downstream (survey cart, orders, demand report, the preview page)
asks this module; nobody else walks the SKU map. `load_catalog` reads a
campaign's whole map in a fixed number of queries (five, whatever its size);
`explode` then works in memory, so a report over 250,000 pledges loads the map
once and explodes each pledge without touching the database.

Order of the rules, each line keeping its source:
1. reward items × quantity                                   ("reward")
2. the reward's choice groups: chosen options, or one pending
   line per group with the default that ships if never chosen ("choice" / "choice_pending")
3. stretch goals the pledge qualifies for                    ("stretch_goal")
4. add-ons bought in the survey and add-ons the platform sold (imported
   text, mapped to offers), with their choice groups  ("addon", "addon_unmapped", "choice"…)
5. regional substitution, last, over every line with a SKU   ("regional")
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import BooleanField, CharField, DateTimeField, F, IntegerField, Q, Value
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from inventory.models import Sku
from pledges.importers.addons import parse_addons_text
from pledges.models import ChoiceGroup, ChoiceOption, RegionalRule, Reward, RewardItem, StretchGoal
from surveys.models import AddOnOffer, AddOnOfferItem, ImportedAddOn, Survey

# Line sources, with the words the pages use for them.
SOURCE_LABELS = {
    "reward": "Reward",
    "choice": "Choice",
    "choice_pending": "Choice not made yet",
    "stretch_goal": "Stretch goal",
    "addon": "Add-on",
    "addon_unmapped": "Add-on not mapped",
    "regional": "Regional edition",
}
SOURCES = tuple(SOURCE_LABELS)


class BomError(ValueError):
    """The pledge's choices or add-ons do not fit the SKU map (shown to the user)."""

    code = "bom_invalid"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidChoice(BomError):
    code = "invalid_choice"


class InvalidAddOn(BomError):
    code = "invalid_addon"


class UnknownReward(BomError):
    code = "unknown_reward"


@dataclass(frozen=True)
class BomLine:
    sku: Sku | None  # None: a choice not made yet, or an add-on text not mapped
    quantity: int
    source: str  # one of SOURCES
    detail: str  # reward title / "Colour: Red" / goal name / offer name / rule name
    group_id: int | None = None  # choice group for "choice"/"choice_pending"
    replaced_sku: Sku | None = None  # for "regional": the SKU it replaced
    default_sku: Sku | None = None  # for "choice_pending": what ships if never chosen


# --- the campaign's map, read once ------------------------------------------


@dataclass(frozen=True)
class CatalogReward:
    id: int
    title: str
    minimum: Decimal
    items: tuple[tuple[int, int], ...]  # (sku id, quantity)


@dataclass(frozen=True)
class CatalogOption:
    id: int
    label: str
    sku_id: int
    quantity: int
    is_default: bool


@dataclass(frozen=True)
class CatalogGroup:
    id: int
    name: str
    picks: int
    allow_repeats: bool
    reward_id: int | None
    addon_offer_id: int | None
    options: tuple[CatalogOption, ...]

    @property
    def defaults(self) -> tuple[CatalogOption, ...]:
        return tuple(o for o in self.options if o.is_default)


@dataclass(frozen=True)
class CatalogOffer:
    id: int
    name: str
    items: tuple[tuple[int, int], ...]  # (sku id, quantity)
    price: Decimal | None = None  # in the campaign's currency


@dataclass(frozen=True)
class CatalogRule:
    id: int
    name: str
    countries: frozenset[str]
    from_sku_id: int
    to_sku_id: int
    backer_can_override: bool


@dataclass(frozen=True)
class CatalogGoal:
    id: int
    name: str
    sku_id: int
    quantity: int
    from_reward_id: int | None
    pledged_before: datetime | None


@dataclass(frozen=True)
class CatalogImportedAddOn:
    text: str
    offer_id: int | None
    units_per_item: int
    included_in_reward: bool


@dataclass
class Catalog:
    campaign_id: int
    skus: dict[int, Sku] = field(default_factory=dict)
    rewards: dict[int, CatalogReward] = field(default_factory=dict)
    groups: dict[int, CatalogGroup] = field(default_factory=dict)
    offers: dict[int, CatalogOffer] = field(default_factory=dict)
    rules: list[CatalogRule] = field(default_factory=list)
    goals: list[CatalogGoal] = field(default_factory=list)
    imported: dict[str, CatalogImportedAddOn] = field(default_factory=dict)

    def __post_init__(self):
        self._by_reward: dict[int, list[CatalogGroup]] = {}
        self._by_offer: dict[int, list[CatalogGroup]] = {}
        for group in self.groups.values():
            if group.reward_id is not None:
                self._by_reward.setdefault(group.reward_id, []).append(group)
            else:
                self._by_offer.setdefault(group.addon_offer_id, []).append(group)

    def groups_for_reward(self, reward_id: int) -> list[CatalogGroup]:
        return self._by_reward.get(reward_id, [])

    def groups_for_offer(self, offer_id: int) -> list[CatalogGroup]:
        return self._by_offer.get(offer_id, [])


def _campaign_id(campaign) -> int:
    return campaign if isinstance(campaign, int) else campaign.pk


def _skus(campaign_id: int) -> dict[int, Sku]:
    """Every SKU the map names, in one query (subqueries, no joins fan out)."""
    used = (
        Q(pk__in=RewardItem.objects.filter(reward__campaign_id=campaign_id).values("sku_id"))
        | Q(pk__in=ChoiceOption.objects.filter(group__campaign_id=campaign_id).values("sku_id"))
        | Q(pk__in=AddOnOfferItem.objects.filter(offer__campaign_id=campaign_id).values("sku_id"))
        | Q(pk__in=RegionalRule.objects.filter(campaign_id=campaign_id).values("from_sku_id"))
        | Q(pk__in=RegionalRule.objects.filter(campaign_id=campaign_id).values("to_sku_id"))
        | Q(pk__in=StretchGoal.objects.filter(campaign_id=campaign_id).values("sku_id"))
    )
    return {sku.pk: sku for sku in Sku.objects.filter(used)}


def _rewards(campaign_id: int) -> dict[int, CatalogReward]:
    """Rewards with their items: one LEFT JOIN."""
    rows = (
        Reward.objects.filter(campaign_id=campaign_id)
        .values("pk", "title", "minimum", "items__sku_id", "items__quantity")
        .order_by("minimum", "title", "pk", "items__pk")
    )
    rewards: dict[int, dict] = {}
    for row in rows:
        entry = rewards.setdefault(
            row["pk"],
            {"title": row["title"], "minimum": row["minimum"], "items": []},
        )
        if row["items__sku_id"] is not None:
            entry["items"].append((row["items__sku_id"], row["items__quantity"]))
    return {
        pk: CatalogReward(
            id=pk,
            title=e["title"],
            minimum=Decimal(e["minimum"] if e["minimum"] is not None else 0),
            items=tuple(e["items"]),
        )
        for pk, e in rewards.items()
    }


def _groups(campaign_id: int) -> dict[int, CatalogGroup]:
    """Choice groups (of rewards and of add-on offers) with their options: one LEFT JOIN."""
    rows = (
        ChoiceGroup.objects.filter(campaign_id=campaign_id)
        .values(
            "pk",
            "name",
            "picks",
            "allow_repeats",
            "reward_id",
            "addon_offer_id",
            "options__pk",
            "options__label",
            "options__sku_id",
            "options__quantity",
            "options__is_default",
        )
        .order_by("position", "pk", "options__position", "options__pk")
    )
    groups: dict[int, dict] = {}
    for row in rows:
        entry = groups.setdefault(row["pk"], {**row, "options": []})
        if row["options__pk"] is not None:
            entry["options"].append(
                CatalogOption(
                    id=row["options__pk"],
                    label=row["options__label"],
                    sku_id=row["options__sku_id"],
                    quantity=row["options__quantity"],
                    is_default=row["options__is_default"],
                )
            )
    return {
        pk: CatalogGroup(
            id=pk,
            name=e["name"],
            picks=e["picks"],
            allow_repeats=e["allow_repeats"],
            reward_id=e["reward_id"],
            addon_offer_id=e["addon_offer_id"],
            options=tuple(e["options"]),
        )
        for pk, e in groups.items()
    }


def _offers(campaign_id: int) -> dict[int, CatalogOffer]:
    """Add-on offers with their items (bundles): one LEFT JOIN."""
    rows = (
        AddOnOffer.objects.filter(campaign_id=campaign_id)
        .values("pk", "name", "price", "items__sku_id", "items__quantity")
        .order_by("position", "name", "pk", "items__pk")
    )
    offers: dict[int, dict] = {}
    for row in rows:
        entry = offers.setdefault(
            row["pk"], {"name": row["name"], "price": row["price"], "items": []}
        )
        if row["items__sku_id"] is not None:
            entry["items"].append((row["items__sku_id"], row["items__quantity"]))
    return {
        pk: CatalogOffer(id=pk, name=e["name"], items=tuple(e["items"]), price=e["price"])
        for pk, e in offers.items()
    }


# Regional rules, stretch goals and imported add-on mappings are three short
# lists; one UNION ALL reads them together. Every column is an annotation, in
# the same order in each part, so the parts line up on every database.
_RULE_COLUMNS = (
    "r_kind",
    "r_id",
    "r_name",
    "r_a",
    "r_b",
    "r_c",
    "r_flag",
    "r_countries",
    "r_when",
    "r_position",
)


def _null(output_field):
    return Value(None, output_field=output_field)


def _rules_goals_imported(campaign_id: int):
    rules = RegionalRule.objects.filter(campaign_id=campaign_id).annotate(
        r_kind=Value("rule", output_field=CharField()),
        r_id=F("pk"),
        r_name=F("name"),
        r_a=F("from_sku_id"),
        r_b=F("to_sku_id"),
        r_c=_null(IntegerField()),
        r_flag=F("backer_can_override"),
        r_countries=F("countries"),
        r_when=_null(DateTimeField()),
        r_position=F("position"),
    )
    goals = StretchGoal.objects.filter(campaign_id=campaign_id).annotate(
        r_kind=Value("goal", output_field=CharField()),
        r_id=F("pk"),
        r_name=F("name"),
        r_a=F("sku_id"),
        r_b=F("from_reward_id"),
        r_c=F("quantity"),
        r_flag=_null(BooleanField()),
        r_countries=_null(CharField()),
        r_when=F("pledged_before"),
        r_position=F("position"),
    )
    imported = ImportedAddOn.objects.filter(campaign_id=campaign_id).annotate(
        r_kind=Value("imported", output_field=CharField()),
        r_id=F("pk"),
        r_name=F("text"),
        r_a=F("offer_id"),
        r_b=F("units_per_item"),
        r_c=_null(IntegerField()),
        r_flag=F("included_in_reward"),
        r_countries=_null(CharField()),
        r_when=_null(DateTimeField()),
        r_position=Value(0, output_field=IntegerField()),
    )
    parts = [qs.order_by().values_list(*_RULE_COLUMNS) for qs in (rules, goals, imported)]
    return parts[0].union(parts[1], parts[2], all=True)


def _country_codes(value) -> frozenset[str]:
    if not value:
        return frozenset()
    if isinstance(value, str):
        return frozenset(code.strip().upper() for code in value.split(",") if code.strip())
    return frozenset(str(getattr(c, "code", c)).upper() for c in value)


def load_catalog(*, campaign) -> Catalog:
    """The campaign's whole SKU map in five queries, whatever its size.

    `campaign` is a Campaign or its id."""
    campaign_id = _campaign_id(campaign)
    catalog = Catalog(
        campaign_id=campaign_id,
        skus=_skus(campaign_id),
        rewards=_rewards(campaign_id),
        groups=_groups(campaign_id),
        offers=_offers(campaign_id),
    )
    rules, goals = [], []
    for kind, pk, name, a, b, c, flag, countries, when, position in _rules_goals_imported(
        campaign_id
    ):
        if kind == "rule":
            rules.append(
                (
                    position,
                    pk,
                    CatalogRule(
                        id=pk,
                        name=name,
                        countries=_country_codes(countries),
                        from_sku_id=a,
                        to_sku_id=b,
                        backer_can_override=bool(flag),
                    ),
                )
            )
        elif kind == "goal":
            goals.append(
                (
                    position,
                    pk,
                    CatalogGoal(
                        id=pk,
                        name=name,
                        sku_id=a,
                        quantity=c,
                        from_reward_id=b,
                        pledged_before=when,
                    ),
                )
            )
        else:
            catalog.imported[name] = CatalogImportedAddOn(
                text=name, offer_id=a, units_per_item=b, included_in_reward=bool(flag)
            )
    catalog.rules = [rule for _, _, rule in sorted(rules, key=lambda r: r[:2])]
    catalog.goals = [goal for _, _, goal in sorted(goals, key=lambda g: g[:2])]
    return catalog


# --- the map kept per process for the survey pages -----------------------------
#
# A survey request needs the whole map; reading it costs five queries and most of
# the request's Python time. Each process keeps the maps it read, keyed by the
# survey's `catalog_version`, which the request reads with the survey row anyway.
# Every service that changes the map, the offers or the questions calls
# `catalog_changed` after its writes (in its transaction), so the next request
# anywhere reads a new version and loads the map again: never a stale map.

CACHE_SIZE = 64  # campaigns per process
_cache: OrderedDict[tuple, object] = OrderedDict()
_cache_lock = threading.Lock()


def catalog_changed(*, campaign) -> None:
    """The campaign's map, offers or questions changed: every process's copy is stale.

    Call after the writes (or in their transaction): a request that reads the old
    version in between then loads the new map under the old key, which is merely
    loaded again; bumping first could keep the old map under the new key."""
    Survey.objects.filter(campaign_id=_campaign_id(campaign)).update(
        catalog_version=F("catalog_version") + 1
    )


def skus_changed(*, organization_id: int) -> None:
    """SKUs of the organization changed (name, code, weight…): every campaign of it."""
    Survey.objects.filter(campaign__organization_id=organization_id).update(
        catalog_version=F("catalog_version") + 1
    )


def cached(key: tuple, load):
    """`load()`, kept per process under `key` (which must name the survey's
    catalog_version); the least recently used entries go first."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = load()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def forget_cached() -> None:
    """Empty this process's cache (tests; a management command after raw SQL)."""
    with _cache_lock:
        _cache.clear()


def survey_catalog(*, survey) -> Catalog:
    """The campaign's map for its survey's pages, read once per catalog version.

    Shared between requests: read it, never change it."""
    return cached(
        ("catalog", survey.pk, survey.catalog_version),
        lambda: load_catalog(campaign=survey.campaign_id),
    )


# The SKU form of the back office saves the model directly; a renamed SKU must
# still reach the survey pages, so any saved or deleted SKU bumps its campaigns.
@receiver(post_save, sender=Sku, dispatch_uid="bom-sku-saved")
@receiver(post_delete, sender=Sku, dispatch_uid="bom-sku-deleted")
def _sku_changed(sender, instance, **kwargs):
    skus_changed(organization_id=instance.organization_id)


# --- exploding one pledge ----------------------------------------------------


def _chosen_options(group: CatalogGroup, option_ids: Sequence[int]) -> list[CatalogOption]:
    """The options picked in `group`, validated: exactly `picks` of them, each
    one of the group's options, the same one twice only where repeats are allowed."""
    by_id = {o.id: o for o in group.options}
    picked = []
    for option_id in option_ids:
        try:
            option = by_id[int(option_id)]
        except (KeyError, TypeError, ValueError):
            raise InvalidChoice(f"“{option_id}” is not an option of “{group.name}”.") from None
        picked.append(option)
    if len(picked) != group.picks:
        plural = "option" if group.picks == 1 else "options"
        raise InvalidChoice(
            f"“{group.name}” needs exactly {group.picks} {plural}; {len(picked)} chosen."
        )
    if not group.allow_repeats and len({o.id for o in picked}) != len(picked):
        raise InvalidChoice(f"“{group.name}” does not allow the same option twice.")
    return picked


def _group_lines(
    catalog: Catalog,
    group: CatalogGroup,
    chosen: Sequence[int] | None,
    multiplier: int,
) -> list[BomLine]:
    if not chosen:
        defaults = group.defaults
        return [
            BomLine(
                sku=None,
                quantity=group.picks * multiplier,
                source="choice_pending",
                detail=group.name,
                group_id=group.id,
                default_sku=catalog.skus.get(defaults[0].sku_id) if defaults else None,
            )
        ]
    lines: dict[int, int] = {}  # option id -> units, in pick order
    options: dict[int, CatalogOption] = {}
    for option in _chosen_options(group, chosen):
        options[option.id] = option
        lines[option.id] = lines.get(option.id, 0) + option.quantity * multiplier
    return [
        BomLine(
            sku=catalog.skus.get(options[option_id].sku_id),
            quantity=quantity,
            source="choice",
            detail=f"{group.name}: {options[option_id].label}",
            group_id=group.id,
        )
        for option_id, quantity in lines.items()
    ]


def _qualifies(goal: CatalogGoal, reward: CatalogReward, catalog: Catalog, pledged_at) -> bool:
    if goal.from_reward_id is not None:
        threshold = catalog.rewards.get(goal.from_reward_id)
        if threshold is None or reward.minimum < threshold.minimum:
            return False
    # A pledge with no date cannot prove it came before the deadline.
    return goal.pledged_before is None or (
        pledged_at is not None and pledged_at < goal.pledged_before
    )


def _substitute(
    catalog: Catalog, lines: list[BomLine], country: str, opt_outs: Collection[int]
) -> list[BomLine]:
    country = (country or "").strip().upper()
    if not country or not catalog.rules:
        return lines
    opted_out = {int(rule_id) for rule_id in opt_outs}

    def rule_for(sku_id: int) -> CatalogRule | None:
        for rule in catalog.rules:
            if rule.from_sku_id != sku_id or country not in rule.countries:
                continue
            if rule.id in opted_out and rule.backer_can_override:
                continue  # the backer keeps the original where the creator allows it
            return rule
        return None

    result = []
    for line in lines:
        if line.sku is not None:
            rule = rule_for(line.sku.pk)
            if rule is not None:
                line = BomLine(
                    sku=catalog.skus.get(rule.to_sku_id),
                    quantity=line.quantity,
                    source="regional",
                    detail=f"{rule.name} ({SOURCE_LABELS[line.source].lower()}: {line.detail})",
                    group_id=line.group_id,
                    replaced_sku=line.sku,
                )
        elif line.source == "choice_pending" and line.default_sku is not None:
            rule = rule_for(line.default_sku.pk)
            if rule is not None:
                line = BomLine(
                    sku=None,
                    quantity=line.quantity,
                    source="choice_pending",
                    detail=line.detail,
                    group_id=line.group_id,
                    replaced_sku=line.default_sku,
                    default_sku=catalog.skus.get(rule.to_sku_id),
                )
        result.append(line)
    return result


def explode(
    *,
    catalog: Catalog,
    reward_id: int | None,
    country: str,
    pledged_at: datetime | None,
    choices: Mapping[int, Sequence[int]] | None = None,
    addons: Sequence[tuple[int, int]] = (),
    imported_addons_text: str = "",
    regional_opt_outs: Collection[int] = (),
) -> list[BomLine]:
    """A pledge's exact SKU lines, each with its source. No queries.

    `choices` maps a choice group id to the option ids picked (an empty list is
    "not chosen yet"); choices for groups this pledge does not have (another
    reward, an add-on not bought) are ignored, a group of another campaign or a
    wrong number of picks raise InvalidChoice. `addons` are (offer id, quantity)
    bought in the survey; `imported_addons_text` is the platform's add-ons text
    as the import stored it. Regional rules apply last, to every line with a
    SKU; a rule in `regional_opt_outs` is skipped only if the creator lets
    backers override it."""
    choices = {int(k): v for k, v in (choices or {}).items()}
    for group_id in choices:
        if group_id not in catalog.groups:
            raise InvalidChoice(f"Choice group {group_id} is not part of this campaign's map.")
    lines: list[BomLine] = []

    reward = None
    if reward_id is not None:
        reward = catalog.rewards.get(reward_id)
        if reward is None:
            raise UnknownReward(f"Reward {reward_id} is not part of this campaign.")
        for sku_id, quantity in reward.items:
            lines.append(
                BomLine(
                    sku=catalog.skus.get(sku_id),
                    quantity=quantity,
                    source="reward",
                    detail=reward.title,
                )
            )
        for group in catalog.groups_for_reward(reward.id):
            lines += _group_lines(catalog, group, choices.get(group.id), 1)

        for goal in catalog.goals:
            if _qualifies(goal, reward, catalog, pledged_at):
                lines.append(
                    BomLine(
                        sku=catalog.skus.get(goal.sku_id),
                        quantity=goal.quantity,
                        source="stretch_goal",
                        detail=goal.name,
                    )
                )

    # Add-ons: units per offer (survey and platform), kept in the order met.
    units: dict[int, int] = {}
    addon_lines: list[BomLine] = []

    def add_offer(offer: CatalogOffer, quantity: int) -> None:
        units[offer.id] = units.get(offer.id, 0) + quantity
        for sku_id, per_unit in offer.items:
            addon_lines.append(
                BomLine(
                    sku=catalog.skus.get(sku_id),
                    quantity=per_unit * quantity,
                    source="addon",
                    detail=offer.name,
                )
            )

    for offer_id, quantity in addons:
        offer = catalog.offers.get(int(offer_id))
        if offer is None:
            raise InvalidAddOn(f"Add-on {offer_id} is not offered in this campaign.")
        if int(quantity) < 0:
            raise InvalidAddOn(f"“{offer.name}”: the quantity cannot be negative.")
        if int(quantity):
            add_offer(offer, int(quantity))

    for text, quantity in parse_addons_text(imported_addons_text):
        mapping = catalog.imported.get(text)
        if mapping is not None and mapping.included_in_reward:
            continue  # an itemized reward column: the reward map already counts it
        offer = catalog.offers.get(mapping.offer_id) if mapping and mapping.offer_id else None
        if offer is None:
            addon_lines.append(
                BomLine(sku=None, quantity=quantity, source="addon_unmapped", detail=text)
            )
            continue
        add_offer(offer, mapping.units_per_item * quantity)

    lines += addon_lines
    for offer_id, offer_units in units.items():
        for group in catalog.groups_for_offer(offer_id):
            lines += _group_lines(catalog, group, choices.get(group.id), offer_units)

    return _substitute(catalog, lines, country, regional_opt_outs)


def bom_for_pledge(*, pledge, choices=None, addons=(), regional_opt_outs=()) -> list[BomLine]:
    """The BOM of one pledge (loaded with its backer): load_catalog + explode, five queries."""
    catalog = load_catalog(campaign=pledge.backer.campaign_id)
    return explode(
        catalog=catalog,
        reward_id=pledge.reward_id,
        country=str(pledge.shipping_country or ""),
        pledged_at=pledge.pledged_at,
        choices=choices,
        addons=addons,
        imported_addons_text=pledge.addons_text,
        regional_opt_outs=regional_opt_outs,
    )


def sku_totals(lines) -> dict[int, int]:
    """Units per SKU id over the lines that have a SKU (pending and unmapped lines have none)."""
    totals: dict[int, int] = {}
    for line in lines:
        if line.sku is not None:
            totals[line.sku.pk] = totals.get(line.sku.pk, 0) + line.quantity
    return totals
