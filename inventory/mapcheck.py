"""The map check: everything that must be settled before the SKU map locks.

Surveys go out against a locked map, so every reward and every add-on the
platform sold must resolve to SKUs, every choice must have a default (what
ships to a backer who never answers), and every SKU that ships needs the
weight, HS code and origin that labels and customs declarations ask for."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from django.urls import NoReverseMatch, reverse

from pledges.importers.addons import parse_addons_text
from pledges.models import PaymentStatus, Pledge

from .bom import Catalog, load_catalog

# kind → (heading on the checklist, page where it is fixed)
KINDS: dict[str, tuple[str, str]] = {
    "reward_unmapped": ("Rewards without SKUs", "reward-map"),
    "addon_text_unmapped": ("Imported add-ons without a mapping", "imported-addon-list"),
    "offer_empty": ("Add-on offers without items", "addon-list"),
    "choice_no_options": ("Choice groups without options", "reward-map"),
    "choice_no_default": ("Choice groups without enough defaults", "reward-map"),
    "sku_missing_data": ("SKUs missing shipping data", "sku-list"),
}


@dataclass(frozen=True)
class MapProblem:
    kind: str  # a key of KINDS
    message: str
    url: str  # the page where it is fixed ("" if that page is not available)
    blocking: bool = True


def page_url(url_name: str, slug: str, anchor: str = "") -> str:
    """The campaign page `url_name` (with an anchor), or "" while that page does not exist."""
    try:
        url = reverse(url_name, args=[slug])
    except NoReverseMatch:
        return ""
    return f"{url}#{anchor}" if anchor else url


def imported_addon_texts(*, campaign) -> dict[str, int]:
    """Every distinct add-on item text of the collected pledges, with how many
    pledges carry it. Distinct texts are aggregated in SQL (one row per
    distinct addons_text, however many pledges share it), then parsed."""
    rows = (
        Pledge.objects.filter(backer__campaign=campaign, payment_status=PaymentStatus.COLLECTED)
        .exclude(addons_text="")
        .values("addons_text")
        .annotate(n=Count("pk"))
        .order_by()
    )
    texts: dict[str, int] = {}
    for row in rows:
        for text, _quantity in parse_addons_text(row["addons_text"]):
            texts[text] = texts.get(text, 0) + row["n"]
    return dict(sorted(texts.items()))


def _group_owner(catalog: Catalog, group) -> str:
    if group.reward_id is not None:
        reward = catalog.rewards.get(group.reward_id)
        return f"reward “{reward.title}”" if reward else "a reward"
    offer = catalog.offers.get(group.addon_offer_id)
    return f"add-on “{offer.name}”" if offer else "an add-on"


def sku_map_problems(*, campaign) -> list[MapProblem]:
    """Everything that blocks the lock, in a constant number of queries (the
    catalog's five plus one over the pledges' add-on texts)."""
    catalog = load_catalog(campaign=campaign)
    slug = campaign.slug
    problems: list[MapProblem] = []

    for reward in catalog.rewards.values():
        if not reward.items and not catalog.groups_for_reward(reward.id):
            problems.append(
                MapProblem(
                    "reward_unmapped",
                    f"Reward “{reward.title}” has no SKU and no choice: add its items.",
                    page_url("reward-map", slug, f"reward-{reward.id}"),
                )
            )

    for text, pledges in imported_addon_texts(campaign=campaign).items():
        mapping = catalog.imported.get(text)
        if mapping is None or not (mapping.included_in_reward or mapping.offer_id):
            problems.append(
                MapProblem(
                    "addon_text_unmapped",
                    f"Add-on “{text}” ({pledges} pledge{'s' if pledges != 1 else ''}) "
                    "is not mapped to an offer or marked as part of the reward.",
                    page_url("imported-addon-list", slug),
                )
            )

    for offer in catalog.offers.values():
        if not offer.items:
            problems.append(
                MapProblem(
                    "offer_empty",
                    f"Add-on offer “{offer.name}” has no items: add the SKU or the bundle.",
                    page_url("addon-list", slug, f"offer-{offer.id}"),
                )
            )

    for group in catalog.groups.values():
        owner = _group_owner(catalog, group)
        fix = (
            page_url("reward-map", slug, f"reward-{group.reward_id}")
            if group.reward_id is not None
            else page_url("addon-list", slug, f"offer-{group.addon_offer_id}")
        )
        if not group.options:
            problems.append(
                MapProblem(
                    "choice_no_options",
                    f"Choice “{group.name}” of {owner} has no options.",
                    fix,
                )
            )
            continue
        defaults = len(group.defaults)
        # With repeats allowed one default can fill every pick.
        needed = 1 if group.allow_repeats else group.picks
        if defaults < needed:
            problems.append(
                MapProblem(
                    "choice_no_default",
                    f"Choice “{group.name}” of {owner} has {defaults or 'no'} default"
                    f"{'s' if defaults != 1 else ''} for {group.picks} pick"
                    f"{'s' if group.picks != 1 else ''}: "
                    "mark what ships when a backer never chooses.",
                    fix,
                )
            )

    for sku in sorted(catalog.skus.values(), key=lambda s: s.code):
        missing = sku.missing_shipping_data
        if missing:
            problems.append(
                MapProblem(
                    "sku_missing_data",
                    f"SKU {sku.code} ({sku.name}) has no {', '.join(missing)}.",
                    page_url("sku-list", slug, f"sku-{sku.pk}"),
                )
            )
    return problems


def problems_by_kind(problems: list[MapProblem], *, campaign) -> list[dict]:
    """The checklist's sections, in KINDS order, each with its problems, their
    count and the page where that kind is fixed."""
    sections = []
    for kind, (heading, url_name) in KINDS.items():
        rows = [p for p in problems if p.kind == kind]
        sections.append(
            {
                "kind": kind,
                "heading": heading,
                "problems": rows,
                "count": len(rows),
                "url": page_url(url_name, campaign.slug),
            }
        )
    return sections
