"""Reward composition, choice groups, regional editions and stretch goals: every
change to the SKU map that the composition pages make.

Each action runs in one transaction, re-reads the campaign row under a lock and
refuses while the SKU map is locked (so a lock taken meanwhile wins), and checks
that every SKU belongs to the campaign's organization and every reward, add-on
offer, group or option to the campaign."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Max

from inventory import bom
from inventory.models import Sku
from surveys.models import AddOnOffer

from ..errors import PledgesError
from ..models import (
    Campaign,
    ChoiceGroup,
    ChoiceOption,
    RegionalRule,
    Reward,
    RewardItem,
    StretchGoal,
)
from .sku_map import ensure_sku_map_editable

MAX_QUANTITY = 9999
MAX_PICKS = 99


class CatalogRefused(PledgesError):
    """A composition change that breaks a rule; `field` names the form field it
    belongs next to (None: a message for the whole form)."""

    code = "catalog_refused"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- guards -----------------------------------------------------------------


def _open_map(campaign: Campaign) -> Campaign:
    """The campaign row, locked for this transaction, after the lock guard passed.
    Every change of the map starts here: the survey pages' cached copies of it are
    marked stale in the same transaction."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    ensure_sku_map_editable(campaign=locked)
    bom.catalog_changed(campaign=locked)
    return locked


def _check_sku(campaign: Campaign, sku: Sku | None, field: str = "sku") -> Sku:
    if sku is None:
        raise CatalogRefused("Choose a SKU.", field=field)
    if sku.organization_id != campaign.organization_id:
        raise CatalogRefused("That SKU is not in this organization's catalog.", field=field)
    return sku


def _check_quantity(quantity: int, field: str = "quantity") -> int:
    if not isinstance(quantity, int) or quantity < 1:
        raise CatalogRefused("The quantity is at least 1.", field=field)
    if quantity > MAX_QUANTITY:
        raise CatalogRefused(f"The quantity is at most {MAX_QUANTITY}.", field=field)
    return quantity


def _check_reward(campaign: Campaign, reward: Reward | None, field: str = "reward") -> Reward:
    if reward is None or reward.campaign_id != campaign.pk:
        raise CatalogRefused("That reward is not part of this campaign.", field=field)
    return reward


def _check_offer(campaign: Campaign, offer: AddOnOffer | None) -> AddOnOffer:
    if offer is None or offer.campaign_id != campaign.pk:
        raise CatalogRefused("That add-on offer is not part of this campaign.")
    return offer


def _check_group(campaign: Campaign, group: ChoiceGroup) -> ChoiceGroup:
    if group.campaign_id != campaign.pk:
        raise CatalogRefused("That choice group is not part of this campaign.")
    return group


def _check_name(name: str, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise CatalogRefused("Give it a name.", field=field)
    return name


# --- reward items -----------------------------------------------------------


@dataclass(frozen=True)
class ItemsAdded:
    added: list[RewardItem]
    increased: list[RewardItem]


def add_reward_items(*, campaign: Campaign, reward: Reward, skus: Sequence[Sku]) -> ItemsAdded:
    """Add each SKU to the reward once; a SKU already in it gets one more unit.

    Refused while the map is locked, for a reward of another campaign or a SKU
    of another organization."""
    with transaction.atomic():
        _open_map(campaign)
        _check_reward(campaign, reward)
        if not skus:
            raise CatalogRefused("Pick at least one SKU to add.", field="skus")
        for sku in skus:
            _check_sku(campaign, sku, field="skus")
        existing = {
            item.sku_id: item
            for item in RewardItem.objects.select_for_update()
            .filter(reward=reward, sku__in=skus)
            .order_by("pk")
        }
        added, increased = [], []
        for sku in dict.fromkeys(skus):
            item = existing.get(sku.pk)
            if item is None:
                added.append(RewardItem.objects.create(reward=reward, sku=sku, quantity=1))
            else:
                item.quantity = _check_quantity(item.quantity + 1, field="skus")
                item.save(update_fields=["quantity"])
                increased.append(item)
        return ItemsAdded(added=added, increased=increased)


def update_reward_item(*, campaign: Campaign, item: RewardItem, quantity: int) -> RewardItem:
    """Set how many units of the SKU the reward holds (1 or more)."""
    with transaction.atomic():
        _open_map(campaign)
        _check_reward(campaign, item.reward)
        item.quantity = _check_quantity(quantity)
        item.save(update_fields=["quantity"])
        return item


def remove_reward_item(*, campaign: Campaign, item: RewardItem) -> None:
    """Take the SKU out of the reward."""
    with transaction.atomic():
        _open_map(campaign)
        _check_reward(campaign, item.reward)
        item.delete()


# --- choice groups and options -------------------------------------------------


def _owner(campaign: Campaign, reward: Reward | None, addon_offer: AddOnOffer | None) -> dict:
    if (reward is None) == (addon_offer is None):
        raise CatalogRefused("A choice group belongs to one reward or to one add-on offer.")
    if reward is not None:
        return {"reward": _check_reward(campaign, reward)}
    return {"addon_offer": _check_offer(campaign, addon_offer)}


def _check_picks(picks: int) -> int:
    if not isinstance(picks, int) or picks < 1:
        raise CatalogRefused("A backer picks at least 1 option.", field="picks")
    if picks > MAX_PICKS:
        raise CatalogRefused(f"At most {MAX_PICKS} picks.", field="picks")
    return picks


def _next_group_position(owner: dict) -> int:
    last = ChoiceGroup.objects.filter(**owner).aggregate(m=Max("position"))["m"]
    return 0 if last is None else last + 1


def create_choice_group(
    *,
    campaign: Campaign,
    reward: Reward | None = None,
    addon_offer: AddOnOffer | None = None,
    name: str,
    picks: int = 1,
    allow_repeats: bool = False,
) -> ChoiceGroup:
    """Start a choice ("Colour: pick 1 of …") on a reward or an add-on offer, without options."""
    with transaction.atomic():
        _open_map(campaign)
        owner = _owner(campaign, reward, addon_offer)
        return ChoiceGroup.objects.create(
            campaign=campaign,
            name=_check_name(name),
            picks=_check_picks(picks),
            allow_repeats=allow_repeats,
            position=_next_group_position(owner),
            **owner,
        )


def option_labels(skus: Sequence[Sku]) -> list[str]:
    """Labels for options made from SKUs: the variant attributes that tell them
    apart ("Red", "Blue"), or the SKU's name when none do."""
    keys = sorted({key for sku in skus for key in (sku.attributes or {})})
    differing = [
        key for key in keys if len({str((sku.attributes or {}).get(key, "")) for sku in skus}) > 1
    ]
    labels = []
    for sku in skus:
        values = [str((sku.attributes or {}).get(key, "")).strip() for key in differing]
        values = [v[:1].upper() + v[1:] for v in values if v]
        labels.append((" / ".join(values) or sku.name)[:120])
    return labels


def create_choice_group_from_skus(
    *,
    campaign: Campaign,
    reward: Reward | None = None,
    addon_offer: AddOnOffer | None = None,
    name: str,
    skus: Sequence[Sku],
    picks: int = 1,
    allow_repeats: bool = False,
) -> ChoiceGroup:
    """A choice group with one option per SKU (× 1), labelled from the SKUs'
    variant attributes; no option is the default yet."""
    with transaction.atomic():
        _open_map(campaign)
        owner = _owner(campaign, reward, addon_offer)
        skus = list(dict.fromkeys(skus))
        if len(skus) < 2:
            raise CatalogRefused("Pick at least two SKUs: one option each.", field="skus")
        for sku in skus:
            _check_sku(campaign, sku, field="skus")
        group = ChoiceGroup.objects.create(
            campaign=campaign,
            name=_check_name(name),
            picks=_check_picks(picks),
            allow_repeats=allow_repeats,
            position=_next_group_position(owner),
            **owner,
        )
        ChoiceOption.objects.bulk_create(
            ChoiceOption(group=group, label=label, sku=sku, quantity=1, position=i)
            for i, (sku, label) in enumerate(zip(skus, option_labels(skus), strict=True))
        )
        return group


def update_choice_group(
    *, campaign: Campaign, group: ChoiceGroup, name: str, picks: int, allow_repeats: bool
) -> ChoiceGroup:
    """Rename the group or change its picks; picks never fall below its defaults."""
    with transaction.atomic():
        _open_map(campaign)
        _check_group(campaign, group)
        name, picks = _check_name(name), _check_picks(picks)
        defaults = group.options.filter(is_default=True).count()
        if defaults > picks:
            raise CatalogRefused(
                f"{defaults} options are marked default: picks must be at least {defaults}, "
                "or unmark some defaults first.",
                field="picks",
            )
        group.name, group.picks, group.allow_repeats = name, picks, allow_repeats
        group.save(update_fields=["name", "picks", "allow_repeats"])
        return group


def delete_choice_group(*, campaign: Campaign, group: ChoiceGroup) -> None:
    """Remove the choice and its options."""
    with transaction.atomic():
        _open_map(campaign)
        _check_group(campaign, group)
        group.delete()


def _settle_default(group: ChoiceGroup, option: ChoiceOption | None) -> None:
    """Make `option` a default: with 1 pick it replaces the previous default; with
    more picks the defaults may fill the picks but not exceed them."""
    others = group.options.filter(is_default=True)
    if option is not None and option.pk:
        others = others.exclude(pk=option.pk)
    if group.picks == 1:
        others.update(is_default=False)
        return
    if others.count() + 1 > group.picks:
        raise CatalogRefused(
            f"This choice already ships {group.picks} default pick"
            f"{'s' if group.picks != 1 else ''}: unmark one first.",
            field="is_default",
        )


def add_choice_option(
    *,
    campaign: Campaign,
    group: ChoiceGroup,
    label: str,
    sku: Sku,
    quantity: int = 1,
    is_default: bool = False,
) -> ChoiceOption:
    """Add an option (label → SKU × quantity) at the end of the group."""
    with transaction.atomic():
        _open_map(campaign)
        _check_group(campaign, group)
        label = _check_name(label, field="label")
        _check_sku(campaign, sku)
        quantity = _check_quantity(quantity)
        if is_default:
            _settle_default(group, None)
        last = group.options.aggregate(m=Max("position"))["m"]
        return ChoiceOption.objects.create(
            group=group,
            label=label,
            sku=sku,
            quantity=quantity,
            is_default=is_default,
            position=0 if last is None else last + 1,
        )


def update_choice_option(
    *,
    campaign: Campaign,
    option: ChoiceOption,
    label: str,
    sku: Sku,
    quantity: int,
    is_default: bool,
) -> ChoiceOption:
    """Change an option's label, SKU, quantity or default flag."""
    with transaction.atomic():
        _open_map(campaign)
        group = _check_group(campaign, option.group)
        option.label = _check_name(label, field="label")
        option.sku = _check_sku(campaign, sku)
        option.quantity = _check_quantity(quantity)
        if is_default and not option.is_default:
            _settle_default(group, option)
        option.is_default = is_default
        option.save(update_fields=["label", "sku", "quantity", "is_default"])
        return option


def make_option_default(*, campaign: Campaign, option: ChoiceOption) -> ChoiceOption:
    """Mark the option as what ships when the backer never chooses."""
    with transaction.atomic():
        _open_map(campaign)
        group = _check_group(campaign, option.group)
        if not option.is_default:
            _settle_default(group, option)
            option.is_default = True
            option.save(update_fields=["is_default"])
        return option


def delete_choice_option(*, campaign: Campaign, option: ChoiceOption) -> None:
    """Remove one option from its group."""
    with transaction.atomic():
        _open_map(campaign)
        _check_group(campaign, option.group)
        option.delete()


# --- copying a composition ----------------------------------------------------


@dataclass(frozen=True)
class CompositionCopied:
    items: int
    groups: int


def copy_composition(
    *, campaign: Campaign, source: Reward, target: Reward, replace: bool
) -> CompositionCopied:
    """Give `target` the items and choice groups (with options) of `source`.

    `replace` drops the target's own items and groups first; otherwise items
    of a SKU it already holds add up and the groups are appended."""
    with transaction.atomic():
        _open_map(campaign)
        _check_reward(campaign, source, field="source")
        _check_reward(campaign, target)
        if source.pk == target.pk:
            raise CatalogRefused("Choose another reward to copy from.", field="source")
        items = list(source.items.order_by("pk"))
        groups = list(source.choice_groups.prefetch_related("options").order_by("position", "pk"))
        if not items and not groups:
            raise CatalogRefused(f"“{source.title}” has no components to copy.", field="source")
        if replace:
            target.items.all().delete()
            target.choice_groups.all().delete()
        existing = {
            item.sku_id: item
            for item in RewardItem.objects.select_for_update().filter(reward=target).order_by("pk")
        }
        for item in items:
            mine = existing.get(item.sku_id)
            if mine is None:
                RewardItem.objects.create(reward=target, sku_id=item.sku_id, quantity=item.quantity)
            else:
                mine.quantity = min(mine.quantity + item.quantity, MAX_QUANTITY)
                mine.save(update_fields=["quantity"])
        position = _next_group_position({"reward": target})
        for offset, group in enumerate(groups):
            copy = ChoiceGroup.objects.create(
                campaign=campaign,
                reward=target,
                name=group.name,
                picks=group.picks,
                allow_repeats=group.allow_repeats,
                position=position + offset,
            )
            ChoiceOption.objects.bulk_create(
                ChoiceOption(
                    group=copy,
                    label=option.label,
                    sku_id=option.sku_id,
                    quantity=option.quantity,
                    is_default=option.is_default,
                    position=option.position,
                )
                for option in group.options.all()
            )
        return CompositionCopied(items=len(items), groups=len(groups))


# --- regional editions ----------------------------------------------------------


def _country_codes(countries: Collection) -> list[str]:
    return sorted({getattr(c, "code", c) for c in countries if getattr(c, "code", c)})


def _check_regional(
    campaign: Campaign,
    *,
    rule: RegionalRule | None,
    name: str,
    countries: Collection,
    from_sku: Sku,
    to_sku: Sku,
) -> tuple[str, list[str]]:
    name = _check_name(name)
    codes = _country_codes(countries)
    if not codes:
        raise CatalogRefused("Choose at least one destination country.", field="countries")
    _check_sku(campaign, from_sku, field="from_sku")
    _check_sku(campaign, to_sku, field="to_sku")
    if from_sku.pk == to_sku.pk:
        raise CatalogRefused("Ship a different SKU than the one it replaces.", field="to_sku")
    # Two rules replacing the same SKU for the same country would leave the
    # bill of materials to guess which edition ships.
    others = RegionalRule.objects.filter(campaign=campaign, from_sku=from_sku)
    if rule is not None:
        others = others.exclude(pk=rule.pk)
    for other in others.order_by("position", "pk"):
        overlap = sorted(set(codes) & set(_country_codes(other.countries)))
        if overlap:
            raise CatalogRefused(
                f"“{other.name}” already replaces {from_sku.code} for "
                f"{', '.join(overlap)}: take {'it' if len(overlap) == 1 else 'them'} out "
                "of one of the two rules.",
                field="countries",
            )
    return name, codes


def create_regional_rule(
    *,
    campaign: Campaign,
    name: str,
    countries: Collection,
    from_sku: Sku,
    to_sku: Sku,
    backer_can_override: bool = False,
) -> RegionalRule:
    """Ship `to_sku` instead of `from_sku` to the given countries (a regional edition).

    The two SKUs must differ, belong to the organization, and no other rule may
    already replace `from_sku` for one of those countries."""
    with transaction.atomic():
        _open_map(campaign)
        name, codes = _check_regional(
            campaign, rule=None, name=name, countries=countries, from_sku=from_sku, to_sku=to_sku
        )
        last = RegionalRule.objects.filter(campaign=campaign).aggregate(m=Max("position"))["m"]
        return RegionalRule.objects.create(
            campaign=campaign,
            name=name,
            countries=codes,
            from_sku=from_sku,
            to_sku=to_sku,
            backer_can_override=backer_can_override,
            position=0 if last is None else last + 1,
        )


def update_regional_rule(
    *,
    campaign: Campaign,
    rule: RegionalRule,
    name: str,
    countries: Collection,
    from_sku: Sku,
    to_sku: Sku,
    backer_can_override: bool,
) -> RegionalRule:
    """Change a regional rule, under the same checks as creating one."""
    with transaction.atomic():
        _open_map(campaign)
        if rule.campaign_id != campaign.pk:
            raise CatalogRefused("That rule is not part of this campaign.")
        name, codes = _check_regional(
            campaign, rule=rule, name=name, countries=countries, from_sku=from_sku, to_sku=to_sku
        )
        rule.name, rule.countries = name, codes
        rule.from_sku, rule.to_sku = from_sku, to_sku
        rule.backer_can_override = backer_can_override
        rule.save()
        return rule


def delete_regional_rule(*, campaign: Campaign, rule: RegionalRule) -> None:
    """Stop substituting: every destination gets the original SKU again."""
    with transaction.atomic():
        _open_map(campaign)
        if rule.campaign_id != campaign.pk:
            raise CatalogRefused("That rule is not part of this campaign.")
        rule.delete()


# --- stretch goals ----------------------------------------------------------------


def _check_goal(
    campaign: Campaign, *, name: str, sku: Sku, quantity: int, from_reward: Reward | None
) -> str:
    name = _check_name(name)
    _check_sku(campaign, sku)
    _check_quantity(quantity)
    if from_reward is not None:
        _check_reward(campaign, from_reward, field="from_reward")
    return name


def create_stretch_goal(
    *,
    campaign: Campaign,
    name: str,
    sku: Sku,
    quantity: int = 1,
    from_reward: Reward | None = None,
    pledged_before: datetime | None = None,
) -> StretchGoal:
    """An unlocked item for every reward at or above `from_reward`'s minimum
    and/or every pledge made before `pledged_before` (neither: every reward)."""
    with transaction.atomic():
        _open_map(campaign)
        name = _check_goal(campaign, name=name, sku=sku, quantity=quantity, from_reward=from_reward)
        last = StretchGoal.objects.filter(campaign=campaign).aggregate(m=Max("position"))["m"]
        return StretchGoal.objects.create(
            campaign=campaign,
            name=name,
            sku=sku,
            quantity=quantity,
            from_reward=from_reward,
            pledged_before=pledged_before,
            position=0 if last is None else last + 1,
        )


def update_stretch_goal(
    *,
    campaign: Campaign,
    goal: StretchGoal,
    name: str,
    sku: Sku,
    quantity: int,
    from_reward: Reward | None,
    pledged_before: datetime | None,
) -> StretchGoal:
    """Change a stretch goal, under the same checks as creating one."""
    with transaction.atomic():
        _open_map(campaign)
        if goal.campaign_id != campaign.pk:
            raise CatalogRefused("That stretch goal is not part of this campaign.")
        goal.name = _check_goal(
            campaign, name=name, sku=sku, quantity=quantity, from_reward=from_reward
        )
        goal.sku, goal.quantity = sku, quantity
        goal.from_reward, goal.pledged_before = from_reward, pledged_before
        goal.save()
        return goal


def delete_stretch_goal(*, campaign: Campaign, goal: StretchGoal) -> None:
    """Remove a stretch goal: no pledge gets its item any more."""
    with transaction.atomic():
        _open_map(campaign)
        if goal.campaign_id != campaign.pk:
            raise CatalogRefused("That stretch goal is not part of this campaign.")
        goal.delete()
