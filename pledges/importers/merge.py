"""Merging parsed backer records into a campaign: classify each record as new,
updated or unchanged against what the database holds, then write only what changed.

Two strategies give the same result:
- `merge_in_python`: compares in memory and writes with bulk_create/bulk_update
  (any database; used for SQLite and small files);
- `merge_in_postgres` (pledges/importers/merge_pg.py): COPY into a temporary
  staging table and a few set-based statements (large campaigns).

Both follow one rule set; tests/pledges/test_import_strategies.py holds them to it.

Backers. The platform's backer id is the identity: a backer is never duplicated.

Rewards. A row's reward is identified by its platform reward id when it has one,
else by its title; a row with neither has no reward. Within one file the FIRST
row (file order) of each reward id / title gives that reward's title and minimum.
The rewards are resolved in this order:
1. adoption: a reward id the campaign does not know yet, whose first row has a
   title, is given to the reward found by that title (the lowest pk with it) when
   that reward has no platform id yet (a tier first known by its ZIP file name).
   When several new ids bring the same title, the one seen first in the file wins;
2. by id: an existing reward gets its title updated when the file's title is
   non-empty and differs, and its minimum updated when the file gives a minimum
   and it differs (independently). A missing one is created with the file's title
   (or "Reward <id>") and minimum (or 0);
3. by title (rows without an id): the reward is the lowest pk with that title,
   after steps 1-2. Its minimum is updated when the file gives one and it
   differs, unless the reward's own id also appears in the file (its id rows
   describe it). A missing one is created, with an empty platform id.
Whenever a minimum is written it takes the campaign's currency. Rewards are
created in file order.

Classification. A backer not in the campaign is new (backer + pledge written). An
existing backer is updated when a backer field (backer_number, name, email,
email_normalized) or a pledge field differs, or when it has no pledge; else
unchanged. Money compares at 2 decimals (half away from zero, as PostgreSQL's
numeric rounds), pledged_at to the second, the country by its code. An update
writes the backer (last_import_run, updated_at) and one BackerEvent whose detail
maps each changed field to [old, new] as text; the pledge row is written only when
a pledge field changed or the pledge was missing (then it takes all the file's
values and a new updated_at): a backer-only change leaves the pledge untouched.

Samples show up to SAMPLE_SIZE rows per kind in file order, the amount with 2
decimals ("69.00").
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from djmoney.money import Money

from ..models import Backer, BackerEvent, BackerSource, Campaign, ImportRun, Pledge, Reward

BACKER_FIELDS = ("backer_number", "name", "email", "email_normalized")
PLEDGE_FIELDS = (
    "reward_id",
    "amount",
    "shipping_paid",
    "bonus_support",
    "addons_text",
    "pledged_at",
    "payment_status",
    "shipping_name",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
    "shipping_phone",
    "extra",
)
PLEDGE_KEYS = frozenset(PLEDGE_FIELDS)
MONEY_FIELDS = {
    "amount": "pledge_amount",
    "shipping_paid": "shipping_paid",
    "bonus_support": "bonus_support",
}
SAMPLE_SIZE = 10
CENT = Decimal("0.01")


def money_text(value) -> str:
    """An amount with 2 decimals, rounded as PostgreSQL's numeric(12,2)::text does."""
    return str(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass
class MergeResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_rewards: int = 0
    samples: dict = field(default_factory=lambda: {"new": [], "updated": [], "unchanged": []})
    field_changes: Counter = field(default_factory=Counter)
    status_changes: Counter = field(default_factory=Counter)

    def as_diff(self) -> dict:
        return {
            "fields": dict(self.field_changes.most_common()),
            "status_changes": dict(self.status_changes.most_common()),
            "new_rewards": self.new_rewards,
        }


def record_sample(record, line: int, changes: dict | None = None) -> dict:
    sample = {
        "line": line,
        "platform_backer_id": record.platform_backer_id,
        "name": record.name or "",
        "email": record.email or "",
        "reward": record.reward_title or "",
        "amount": money_text(record.pledge_amount),
        "status": record.payment_status,
    }
    if changes:
        sample["changes"] = changes
    return sample


def _text(value) -> str:
    return "" if value is None else str(value)


def reward_key(record) -> tuple[str, str] | None:
    """("id", platform id) or ("title", title) of a record's reward; None without one."""
    if record.reward_platform_id:
        return ("id", record.reward_platform_id)
    if record.reward_title:
        return ("title", record.reward_title)
    return None


def resolve_rewards(*, campaign: Campaign, records) -> tuple[dict, int]:
    """Find, update or create the reward of every record (the rules are in this
    module's docstring); returns (reward_key → reward pk, rewards created)."""
    currency = campaign.currency
    # The first row of each reward id / title, in file order.
    ids: dict[str, tuple[str, Decimal | None]] = {}
    titles: dict[str, Decimal | None] = {}
    for record, _line in records:
        key = reward_key(record)
        if key is None:
            continue
        kind, value = key
        if kind == "id":
            if value not in ids:
                ids[value] = (record.reward_title or "", record.reward_minimum)
        elif value not in titles:
            titles[value] = record.reward_minimum

    rewards = list(campaign.rewards.order_by("pk"))

    def first_by_title() -> dict:
        found = {}
        for reward in rewards:
            found.setdefault(reward.title, reward)
        return found

    by_id = {r.platform_reward_id: r for r in rewards if r.platform_reward_id}
    by_title = first_by_title()

    def create(platform_id: str, title: str, minimum) -> Reward:
        reward = Reward.objects.create(
            campaign=campaign,
            platform_reward_id=platform_id,
            title=title,
            minimum=Money(minimum if minimum is not None else Decimal(0), currency),
        )
        rewards.append(reward)
        return reward

    def update_minimum(reward: Reward, minimum, fields: list) -> None:
        if minimum is not None and reward.minimum.amount != minimum:
            reward.minimum = Money(minimum, currency)
            fields += ["minimum", "minimum_currency"]

    # 1. A tier first known by its file name only gets the platform's id now.
    for platform_id, (title, _minimum) in ids.items():
        if platform_id in by_id or not title:
            continue
        candidate = by_title.get(title)
        if candidate is not None and not candidate.platform_reward_id:
            candidate.platform_reward_id = platform_id
            candidate.save(update_fields=["platform_reward_id"])
            by_id[platform_id] = candidate

    # 2. By the platform's id.
    created = 0
    for platform_id, (title, minimum) in ids.items():
        reward = by_id.get(platform_id)
        if reward is None:
            by_id[platform_id] = create(platform_id, title or f"Reward {platform_id}", minimum)
            created += 1
            continue
        fields = []
        if title and reward.title != title:
            reward.title = title
            fields.append("title")
        update_minimum(reward, minimum, fields)
        if fields:
            reward.save(update_fields=fields)

    # 3. By title, for rows without an id (titles may have changed in step 2).
    by_title = first_by_title()
    for title, minimum in titles.items():
        reward = by_title.get(title)
        if reward is None:
            by_title[title] = create("", title, minimum)
            created += 1
        elif reward.platform_reward_id not in ids:
            fields = []
            update_minimum(reward, minimum, fields)
            if fields:
                reward.save(update_fields=fields)

    resolved = {("id", pid): by_id[pid].pk for pid in ids}
    resolved.update({("title", title): by_title[title].pk for title in titles})
    return resolved, created


def _pledge_values(record, reward_id, currency) -> dict:
    return {
        "reward_id": reward_id,
        "amount": Money(record.pledge_amount, currency),
        "shipping_paid": Money(record.shipping_paid or 0, currency),
        "bonus_support": Money(record.bonus_support or 0, currency),
        "addons_text": record.addons_text or "",
        "pledged_at": record.pledged_at,
        "payment_status": record.payment_status,
        "shipping_name": record.shipping_name or "",
        "shipping_address_1": record.shipping_address_1 or "",
        "shipping_address_2": record.shipping_address_2 or "",
        "shipping_city": record.shipping_city or "",
        "shipping_region": record.shipping_region or "",
        "shipping_postal_code": record.shipping_postal_code or "",
        "shipping_country": record.shipping_country or "",
        "shipping_phone": record.shipping_phone or "",
        "extra": record.extra or {},
    }


def _backer_values(record) -> dict:
    return {
        "backer_number": record.backer_number,
        "name": record.name or "",
        "email": record.email or "",
        "email_normalized": record.email_normalized or "",
    }


def _comparable(name: str, value):
    if name in MONEY_FIELDS:
        return Decimal(value.amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if name == "shipping_country":
        return _text(getattr(value, "code", value))
    if name == "pledged_at" and value is not None:
        return value.astimezone(UTC).replace(microsecond=0)
    return value


def _display(name: str, value) -> str:
    if name in MONEY_FIELDS:
        return str(_comparable(name, value))
    if name == "extra":
        return "…"
    if name == "pledged_at" and value is not None:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return _text(_comparable(name, value))


def merge_in_python(
    *, campaign: Campaign, run: ImportRun | None, records: list, source: str = BackerSource.CAMPAIGN
) -> MergeResult:
    """Classify and write `records` (a list of (record, line)). Call inside a transaction."""
    result = MergeResult()
    reward_ids, result.new_rewards = resolve_rewards(campaign=campaign, records=records)
    existing = {
        (b.platform, b.platform_backer_id): b
        for b in Backer.objects.filter(campaign=campaign).select_related(None)
    }
    pledges = {
        p.backer_id: p
        for p in Pledge.objects.filter(backer__campaign=campaign).select_related(None)
    }
    currency = campaign.currency
    now = timezone.now()
    new_backers, new_pledges, changed_backers, changed_pledges, events = [], [], [], [], []
    for record, line in records:
        key = reward_key(record)
        reward_id = reward_ids[key] if key is not None else None
        backer_values = _backer_values(record)
        pledge_values = _pledge_values(record, reward_id, currency)
        backer = existing.get((record.platform, record.platform_backer_id))
        if backer is None:
            backer = Backer(
                campaign=campaign,
                platform=record.platform,
                platform_backer_id=record.platform_backer_id,
                source=source,
                first_import_run=run,
                last_import_run=run,
                **backer_values,
            )
            new_backers.append(backer)
            new_pledges.append(Pledge(backer=backer, **pledge_values))
            result.new += 1
            if len(result.samples["new"]) < SAMPLE_SIZE:
                result.samples["new"].append(record_sample(record, line))
            continue
        pledge = pledges.get(backer.pk)
        changes = {}
        for name, value in backer_values.items():
            if getattr(backer, name) != value:
                changes[name] = [_display(name, getattr(backer, name)), _display(name, value)]
                setattr(backer, name, value)
        if pledge is None:
            pledge = Pledge(backer=backer, **pledge_values)
            new_pledges.append(pledge)
            changes["pledge"] = ["", "added"]
        else:
            for name, value in pledge_values.items():
                old = getattr(pledge, name)
                if _comparable(name, old) != _comparable(name, value):
                    changes[name] = [_display(name, old), _display(name, value)]
                    setattr(pledge, name, value)
            if changes.keys() & PLEDGE_KEYS:
                # A changed pledge takes all the file's values, as the upsert does.
                for name, value in pledge_values.items():
                    setattr(pledge, name, value)
                pledge.updated_at = now
                changed_pledges.append(pledge)
        if not changes:
            result.unchanged += 1
            if len(result.samples["unchanged"]) < SAMPLE_SIZE:
                result.samples["unchanged"].append(record_sample(record, line))
            continue
        result.updated += 1
        result.field_changes.update(changes.keys())
        if "payment_status" in changes:
            result.status_changes["{} → {}".format(*changes["payment_status"])] += 1
        backer.last_import_run = run
        backer.updated_at = now
        changed_backers.append(backer)
        events.append(BackerEvent(backer=backer, run=run, action="updated", detail=changes))
        if len(result.samples["updated"]) < SAMPLE_SIZE:
            result.samples["updated"].append(record_sample(record, line, changes))

    Backer.objects.bulk_create(new_backers, batch_size=2000)
    for pledge in new_pledges:
        pledge.backer_id = pledge.backer.pk
    Pledge.objects.bulk_create(new_pledges, batch_size=2000)
    if changed_backers:
        Backer.objects.bulk_update(
            changed_backers, [*BACKER_FIELDS, "last_import_run", "updated_at"], batch_size=2000
        )
    if changed_pledges:
        names = [f if f != "reward_id" else "reward" for f in PLEDGE_FIELDS]
        names += [f"{m}_currency" for m in MONEY_FIELDS] + ["updated_at"]
        Pledge.objects.bulk_update(changed_pledges, names, batch_size=2000)
    BackerEvent.objects.bulk_create(events, batch_size=2000)
    return result


def refresh_reward_counts(*, campaign: Campaign) -> None:
    from django.db.models import Count

    counts = dict(
        Pledge.objects.filter(backer__campaign=campaign, reward__isnull=False)
        .values_list("reward")
        .annotate(n=Count("pk"))
    )
    rewards = list(campaign.rewards.all())
    for reward in rewards:
        reward.backer_count = counts.get(reward.pk, 0)
    Reward.objects.bulk_update(rewards, ["backer_count"], batch_size=500)
