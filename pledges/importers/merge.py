"""Merging parsed backer records into a campaign: classify each record as new,
updated or unchanged against what the database holds, then write only what changed.

Two strategies give the same result:
- `merge_in_python`: compares in memory and writes with bulk_create/bulk_update
  (any database; used for SQLite and small files);
- `merge_in_postgres` (pledges/importers/merge_pg.py): COPY into a temporary
  staging table and a few set-based statements (large campaigns).
The platform's backer id is the identity: a backer is never duplicated.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal

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
MONEY_FIELDS = {
    "amount": "pledge_amount",
    "shipping_paid": "shipping_paid",
    "bonus_support": "bonus_support",
}
SAMPLE_SIZE = 10


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
        "name": record.name,
        "email": record.email,
        "reward": record.reward_title,
        "amount": str(record.pledge_amount),
        "status": record.payment_status,
    }
    if changes:
        sample["changes"] = changes
    return sample


def _text(value) -> str:
    return "" if value is None else str(value)


def resolve_rewards(*, campaign: Campaign, records) -> tuple[dict, int]:
    """Find or create the reward of every record; returns (key → reward id, created).

    A reward is matched by the platform's reward id when the file has one, else by
    its title (Kickstarter files named after their tier carry no id)."""
    by_id = {r.platform_reward_id: r for r in campaign.rewards.exclude(platform_reward_id="")}
    by_title = {}
    for r in campaign.rewards.order_by("pk"):
        by_title.setdefault(r.title, r)
    wanted: dict[tuple[str, str], object] = {}
    for record, _line in records:
        key = (record.reward_platform_id or "", record.reward_title or "")
        if key != ("", "") and key not in wanted:
            wanted[key] = record
    resolved, created = {}, 0
    for (platform_id, title), record in wanted.items():
        reward = by_id.get(platform_id) if platform_id else by_title.get(title)
        minimum = record.reward_minimum if record.reward_minimum is not None else Decimal(0)
        if reward is None and platform_id and title in by_title:
            # A tier first known by its file name only gets the platform's id now.
            candidate = by_title[title]
            if not candidate.platform_reward_id:
                reward = candidate
                reward.platform_reward_id = platform_id
                reward.save(update_fields=["platform_reward_id"])
                by_id[platform_id] = reward
        if reward is None:
            reward = Reward.objects.create(
                campaign=campaign,
                platform_reward_id=platform_id,
                title=title or f"Reward {platform_id}",
                minimum=Money(minimum, campaign.currency),
            )
            created += 1
            if platform_id:
                by_id[platform_id] = reward
            by_title.setdefault(reward.title, reward)
        elif record.reward_minimum is not None and (
            (title and reward.title != title) or reward.minimum.amount != minimum
        ):
            reward.title = title or reward.title
            reward.minimum = Money(minimum, campaign.currency)
            reward.save(update_fields=["title", "minimum"])
        resolved[(platform_id, title)] = reward.pk
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
        return Decimal(value.amount).quantize(Decimal("0.01"))
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
        reward_id = reward_ids.get((record.reward_platform_id or "", record.reward_title or ""))
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
            if changes.keys() & set(PLEDGE_FIELDS):
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
