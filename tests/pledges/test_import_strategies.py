"""The two merge strategies follow one rule set (pledges/importers/merge.py's
docstring): the same sequence of files, imported with `merge_in_python` into one
campaign and with `merge_in_postgres` into another, must leave the same rewards,
backers, pledges and events behind and report the same counts, diff and samples."""

from decimal import Decimal

import pytest

from pledges.importers.pipeline import import_file
from pledges.models import Backer, BackerEvent, Pledge, Reward
from tests.factories import CampaignFactory

from .reports import (
    KICKSTARTER_HEADER,
    csv_text,
    ks_row,
    write_kickstarter_csv,
    write_kickstarter_zip,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True, params=["one chunk", "chunks of 2 rows"])
def chunk_size(request, monkeypatch):
    """Every comparison runs with the whole file in one chunk and with tiny chunks,
    so rules that span chunks (first row of a reward wins, samples, counts) hold."""
    from pledges.importers import merge_pg

    if request.param == "chunks of 2 rows":
        monkeypatch.setattr(merge_pg, "CHUNK_ROWS", 2)


STRATEGIES = ("python", "postgres")
NO_REWARD = {"Reward ID": "", "Reward Title": "", "Reward Minimum": ""}


def _reward_names(campaign) -> dict[str, str]:
    """Reward pk (as text, as events show it) → a name that is the same in both campaigns."""
    return {
        str(pk): f"reward {pid!r} {title!r}"
        for pk, pid, title in Reward.objects.filter(campaign=campaign).values_list(
            "pk", "platform_reward_id", "title"
        )
    }


def _portable(changes: dict, names: dict[str, str]) -> dict:
    """A change map with reward pks replaced by names (pks differ between campaigns)."""
    if "reward_id" not in changes:
        return changes
    return {
        **changes,
        "reward_id": [names.get(value, value) for value in changes["reward_id"]],
    }


def snapshot(campaign) -> dict:
    names = _reward_names(campaign)
    rewards = [
        (r.platform_reward_id, r.title, r.minimum.amount, str(r.minimum.currency), r.backer_count)
        for r in Reward.objects.filter(campaign=campaign).order_by("pk")
    ]
    backers = {
        (b.platform, b.platform_backer_id): b
        for b in Backer.objects.filter(campaign=campaign).select_related("duplicate_group")
    }
    pledges = {}
    for p in Pledge.objects.filter(backer__campaign=campaign).select_related("reward", "backer"):
        values = {
            "reward": (p.reward.platform_reward_id, p.reward.title) if p.reward else None,
            "amount": (p.amount.amount, str(p.amount.currency)),
            "shipping_paid": (p.shipping_paid.amount, str(p.shipping_paid.currency)),
            "bonus_support": (p.bonus_support.amount, str(p.bonus_support.currency)),
            "addons_text": p.addons_text,
            "pledged_at": p.pledged_at,
            "payment_status": p.payment_status,
            "shipping_name": p.shipping_name,
            "shipping_address_1": p.shipping_address_1,
            "shipping_address_2": p.shipping_address_2,
            "shipping_city": p.shipping_city,
            "shipping_region": p.shipping_region,
            "shipping_postal_code": p.shipping_postal_code,
            "shipping_country": p.shipping_country.code,
            "shipping_phone": p.shipping_phone,
            "extra": p.extra,
        }
        pledges[(p.backer.platform, p.backer.platform_backer_id)] = (values, p.updated_at)
    events = [
        (e.backer.platform, e.backer.platform_backer_id, e.action, _portable(e.detail, names))
        for e in BackerEvent.objects.filter(backer__campaign=campaign)
        .select_related("backer")
        .order_by("backer__platform", "backer__platform_backer_id", "pk")
    ]
    return {
        "rewards": rewards,
        "backers": {
            key: (
                b.backer_number,
                b.name,
                b.email,
                b.email_normalized,
                b.source,
                b.duplicate_group.key if b.duplicate_group else None,
            )
            for key, b in backers.items()
        },
        "backer_updated_at": {key: b.updated_at for key, b in backers.items()},
        "pledges": {key: values for key, (values, _) in pledges.items()},
        "pledge_updated_at": {key: updated for key, (_, updated) in pledges.items()},
        "events": events,
    }


def _touched(before: dict, after: dict, which: str) -> set:
    old, new = before.get(which, {}), after[which]
    return {key for key, when in new.items() if key in old and old[key] != when}


def _report(outcome, campaign) -> dict:
    names = _reward_names(campaign)
    samples = {
        kind: [
            {**s, "changes": _portable(s["changes"], names)} if "changes" in s else s for s in rows
        ]
        for kind, rows in outcome.samples.items()
    }
    return {
        "applied": outcome.applied,
        "counts": outcome.counts(),
        "problems": [str(p) for p in outcome.problems],
        "diff": outcome.diff,
        "samples": samples,
    }


def import_with_both(files: list) -> list[dict]:
    """Import each file (a Path) in turn into two fresh campaigns, one per strategy;
    after every file, assert the outcomes and the database states are the same.
    A callable in `files` is called with each campaign before the next file (to
    change the database behind the imports' back). Returns, per file, the outcome
    report and the state (with the keys of the backers and pledges whose row was
    written by that file)."""
    campaigns = {s: CampaignFactory(currency="USD") for s in STRATEGIES}
    states = {s: {} for s in STRATEGIES}
    steps = []
    for number, path in enumerate(files, start=1):
        if callable(path):
            for strategy, campaign in campaigns.items():
                path(campaign)
                states[strategy] = snapshot(campaign)
            continue
        reports, new_states = {}, {}
        for strategy, campaign in campaigns.items():
            outcome = import_file(
                campaign=campaign,
                path=path,
                original_name=path.name,
                apply=True,
                strategy=strategy,
            )
            reports[strategy] = _report(outcome, campaign)
            state = snapshot(campaign)
            state["backers_touched"] = _touched(states[strategy], state, "backer_updated_at")
            state["pledges_touched"] = _touched(states[strategy], state, "pledge_updated_at")
            del state["backer_updated_at"], state["pledge_updated_at"]
            new_states[strategy] = state
            states[strategy] = snapshot(campaign)
        where = f"file {number} ({path.name})"
        assert reports["python"] == reports["postgres"], where
        for part in new_states["python"]:
            assert new_states["python"][part] == new_states["postgres"][part], f"{where}: {part}"
        assert reports["python"]["applied"], (where, reports["python"]["problems"])
        steps.append({**reports["python"], **new_states["python"]})
    return steps


def ks_csv(tmp_path, name: str, rows: list[dict], header=None):
    if header is None:
        return write_kickstarter_csv(tmp_path / name, rows)
    path = tmp_path / name
    path.write_text(csv_text(header, rows), encoding="utf-8")
    return path


def ks_key(n: int) -> tuple[str, str]:
    return ("kickstarter", str(5_000_000_000 + n))


def test_the_first_row_of_a_reward_id_gives_its_title_and_minimum(tmp_path):
    steps = import_with_both(
        [
            ks_csv(
                tmp_path,
                "a.csv",
                [
                    ks_row(1),
                    ks_row(2, **{"Reward Title": "Core Game (retail)", "Reward Minimum": "$79"}),
                    ks_row(3, **{"Reward Title": "", "Reward Minimum": ""}),
                ],
            ),
            ks_csv(
                tmp_path,
                "b.csv",
                [
                    ks_row(3, **{"Reward Title": "Core Game v2"}),
                    ks_row(1, **{"Reward Title": "Core Game v3", "Reward Minimum": "$1"}),
                ],
            ),
        ]
    )
    assert steps[0]["rewards"] == [("7001", "Core Game", Decimal("59.00"), "USD", 3)]
    assert steps[0]["counts"]["new"] == 3 and steps[0]["diff"]["new_rewards"] == 1
    assert steps[1]["rewards"] == [("7001", "Core Game v2", Decimal("59.00"), "USD", 3)]


def test_a_title_and_a_minimum_change_independently(tmp_path):
    steps = import_with_both(
        [
            ks_csv(tmp_path, "a.csv", [ks_row(1), ks_row(2)]),
            ks_csv(
                tmp_path, "b.csv", [ks_row(1, **{"Reward Title": "Core", "Reward Minimum": ""})]
            ),
            ks_csv(tmp_path, "c.csv", [ks_row(1, **{"Reward Title": "", "Reward Minimum": "$65"})]),
            ks_csv(
                tmp_path, "d.csv", [ks_row(1, **{"Reward Title": "Core", "Reward Minimum": ""})]
            ),
        ]
    )
    assert [s["rewards"][0][1:3] for s in steps] == [
        ("Core Game", Decimal("59.00")),
        ("Core", Decimal("59.00")),
        ("Core", Decimal("65.00")),
        ("Core", Decimal("65.00")),
    ]
    # The reward changed, not the pledges: nothing to update.
    assert [s["counts"]["unchanged"] for s in steps[1:]] == [1, 1, 1]


def test_tier_files_then_a_new_tier_minimum_then_the_platform_ids(tmp_path):
    tier = [ks_row(n, **NO_REWARD) for n in (1, 2)]
    deluxe = [ks_row(3, **NO_REWARD)]
    nobody = {
        "Backer Number": "4",
        "Backer UID": "99",
        "Backer Name": "Nora",
        "Email": "n@x.org",
        "Pledge Amount": "$5.00 USD",
        "Pledged At": "2026/10/01, 09:00",
        "Pledged Status": "collected",
    }
    steps = import_with_both(
        [
            write_kickstarter_zip(
                tmp_path / "first.zip",
                {
                    "59.00 USD Core Game - Oct 25 10pm.csv": tier,
                    "99.00 USD Deluxe - Big Box - Oct 25 10pm.csv": deluxe,
                },
                no_reward=[nobody],
            ),
            write_kickstarter_zip(
                tmp_path / "second.zip",
                {
                    "65.00 USD Core Game - Nov 01 10pm.csv": tier,
                    "99.00 USD Deluxe - Big Box - Nov 01 10pm.csv": deluxe,
                },
                no_reward=[nobody],
            ),
            ks_csv(
                tmp_path,
                "all.csv",
                [
                    ks_row(1, **{"Reward Minimum": "$65.00 USD"}),
                    ks_row(2, **{"Reward ID": "7009", "Reward Minimum": "$65.00 USD"}),
                    ks_row(
                        3,
                        **{
                            "Reward ID": "7003",
                            "Reward Title": "Deluxe - Big Box",
                            "Reward Minimum": "$109.00 USD",
                        },
                    ),
                ],
            ),
        ]
    )
    assert steps[0]["rewards"] == [
        ("", "Core Game", Decimal("59.00"), "USD", 2),
        ("", "Deluxe - Big Box", Decimal("99.00"), "USD", 1),
    ]
    assert steps[1]["rewards"][0] == ("", "Core Game", Decimal("65.00"), "USD", 2)
    assert steps[1]["counts"]["unchanged"] == 4
    # The first id with the title is adopted; a second id with it is a reward of its own.
    assert steps[2]["rewards"] == [
        ("7001", "Core Game", Decimal("65.00"), "USD", 1),
        ("7003", "Deluxe - Big Box", Decimal("109.00"), "USD", 1),
        ("7009", "Core Game", Decimal("65.00"), "USD", 1),
    ]
    assert steps[2]["pledges"][("kickstarter", "99")]["reward"] is None


def test_title_rows_and_id_rows_of_one_reward_in_one_file(tmp_path):
    steps = import_with_both(
        [
            ks_csv(
                tmp_path,
                "a.csv",
                [
                    ks_row(1, **{"Reward ID": "", "Reward Minimum": "$49"}),
                    ks_row(2),
                    ks_row(3, **{"Reward ID": "", "Reward Title": "Extra", "Reward Minimum": ""}),
                ],
            ),
            ks_csv(
                tmp_path,
                "b.csv",
                [
                    ks_row(1, **{"Reward ID": "", "Reward Minimum": "$39"}),
                    ks_row(3, **{"Reward ID": "", "Reward Title": "Extra", "Reward Minimum": "$9"}),
                ],
            ),
        ]
    )
    assert steps[0]["rewards"] == [
        ("7001", "Core Game", Decimal("59.00"), "USD", 2),
        ("", "Extra", Decimal("0.00"), "USD", 1),
    ]
    # Found by title while no row of the file has its id: the title rows set the minimum.
    assert steps[1]["rewards"] == [
        ("7001", "Core Game", Decimal("39.00"), "USD", 2),
        ("", "Extra", Decimal("9.00"), "USD", 1),
    ]


def test_a_backer_only_change_leaves_the_pledge_row_alone(tmp_path):
    steps = import_with_both(
        [
            ks_csv(tmp_path, "a.csv", [ks_row(1), ks_row(2)]),
            ks_csv(tmp_path, "b.csv", [ks_row(1, **{"Backer Name": "Ada"}), ks_row(2)]),
            ks_csv(
                tmp_path,
                "c.csv",
                [ks_row(1, **{"Backer Name": "Ada"}), ks_row(2, **{"Pledged Status": "dropped"})],
            ),
            ks_csv(
                tmp_path,
                "d.csv",
                [
                    ks_row(1, **{"Backer Name": "Ada", "Email": "ADA@x.org"}),
                    ks_row(2, **{"Pledged Status": "dropped", "Backer Number": "20"}),
                ],
            ),
        ]
    )
    assert (steps[1]["backers_touched"], steps[1]["pledges_touched"]) == ({ks_key(1)}, set())
    assert steps[1]["events"] == [
        (*ks_key(1), "updated", {"name": ["Backer 1 Åström", "Ada"]}),
    ]
    assert (steps[2]["backers_touched"], steps[2]["pledges_touched"]) == ({ks_key(2)}, {ks_key(2)})
    assert steps[2]["diff"]["status_changes"] == {"collected → dropped": 1}
    assert steps[3]["pledges_touched"] == set()
    assert steps[3]["diff"]["fields"] == {"email": 1, "email_normalized": 1, "backer_number": 1}


def test_a_backer_without_a_pledge_gets_it_back(tmp_path):
    def drop_pledge(campaign):
        Pledge.objects.filter(
            backer__campaign=campaign, backer__platform_backer_id=ks_key(1)[1]
        ).delete()

    rows = [ks_row(1), ks_row(2)]
    steps = import_with_both(
        [
            ks_csv(tmp_path, "a.csv", rows),
            drop_pledge,
            ks_csv(tmp_path, "b.csv", [ks_row(1, **{"Backer Name": "Ada"}), ks_row(2)]),
        ]
    )
    assert steps[1]["diff"]["fields"] == {"name": 1, "pledge": 1}
    assert steps[1]["events"] == [
        (*ks_key(1), "updated", {"name": ["Backer 1 Åström", "Ada"], "pledge": ["", "added"]})
    ]
    assert steps[1]["pledges"][ks_key(1)] == steps[0]["pledges"][ks_key(1)]


def test_rows_without_a_reward_and_rows_that_gain_one(tmp_path):
    steps = import_with_both(
        [
            ks_csv(tmp_path, "a.csv", [ks_row(1, **NO_REWARD), ks_row(2, **NO_REWARD)]),
            ks_csv(tmp_path, "b.csv", [ks_row(1), ks_row(2, **NO_REWARD)]),
            ks_csv(tmp_path, "c.csv", [ks_row(1, **NO_REWARD), ks_row(2, **NO_REWARD)]),
        ]
    )
    assert steps[0]["rewards"] == [] and steps[0]["pledges"][ks_key(1)]["reward"] is None
    assert steps[1]["samples"]["updated"][0]["changes"] == {
        "reward_id": ["", "reward '7001' 'Core Game'"]
    }
    assert steps[2]["events"][-1][3] == {"reward_id": ["reward '7001' 'Core Game'", ""]}
    assert steps[2]["rewards"] == [("7001", "Core Game", Decimal("59.00"), "USD", 0)]


def test_pledged_at_differing_in_seconds_only(tmp_path):
    steps = import_with_both(
        [
            ks_csv(tmp_path, "a.csv", [ks_row(1), ks_row(2)]),
            ks_csv(
                tmp_path,
                "b.csv",
                [ks_row(1, **{"Pledged At": "2026/10/02, 10:27:30"}), ks_row(2)],
            ),
            ks_csv(
                tmp_path,
                "c.csv",
                [ks_row(1, **{"Pledged At": "2026/10/02, 10:27:30.400"}), ks_row(2)],
            ),
        ]
    )
    assert steps[1]["diff"]["fields"] == {"pledged_at": 1}
    assert steps[1]["samples"]["updated"][0]["changes"] == {
        "pledged_at": ["2026-10-02 10:27", "2026-10-02 10:27"]
    }
    assert steps[1]["pledges_touched"] == {ks_key(1)}
    assert steps[2]["counts"]["unchanged"] == 2 and steps[2]["pledges_touched"] == set()


def test_extra_columns_changing(tmp_path):
    engraving = [*KICKSTARTER_HEADER, "Engraving"]
    steps = import_with_both(
        [
            ks_csv(tmp_path, "a.csv", [ks_row(1), ks_row(2)]),
            ks_csv(
                tmp_path,
                "b.csv",
                [ks_row(1, **{"Which colour do you want?": "Red"}), ks_row(2)],
            ),
            ks_csv(tmp_path, "c.csv", [ks_row(1, Engraving="Åsa"), ks_row(2)], header=engraving),
            ks_csv(tmp_path, "d.csv", [ks_row(1, Engraving="Åsa"), ks_row(2)], header=engraving),
        ]
    )
    assert steps[1]["events"] == [(*ks_key(1), "updated", {"extra": ["…", "…"]})]
    assert steps[2]["diff"]["fields"] == {"extra": 2}
    assert steps[2]["pledges"][ks_key(1)]["extra"]["Engraving"] == "Åsa"
    assert steps[3]["counts"]["unchanged"] == 2


def test_amounts_are_shown_and_compared_with_two_decimals(tmp_path):
    steps = import_with_both(
        [
            ks_csv(
                tmp_path,
                "a.csv",
                [
                    ks_row(1, **{"Pledge Amount": "$69 USD"}),
                    ks_row(2, **{"Pledge Amount": "$1,234.5 USD"}),
                    ks_row(3, **{"Pledge Amount": "$69.0050 USD", "Shipping Amount": "$0.125"}),
                ],
            ),
            ks_csv(
                tmp_path,
                "b.csv",
                [
                    ks_row(1, **{"Pledge Amount": "$69.00 USD"}),
                    ks_row(2, **{"Pledge Amount": "$1,234.504 USD"}),
                    ks_row(3, **{"Pledge Amount": "$69.01 USD", "Shipping Amount": "$0.13"}),
                ],
            ),
            ks_csv(
                tmp_path,
                "c.csv",
                [ks_row(1, **{"Pledge Amount": "$70 USD"}), ks_row(2), ks_row(3)],
            ),
        ]
    )
    assert [s["amount"] for s in steps[0]["samples"]["new"]] == ["69.00", "1234.50", "69.01"]
    assert steps[0]["pledges"][ks_key(3)]["shipping_paid"] == (Decimal("0.13"), "USD")
    assert steps[1]["counts"]["unchanged"] == 3
    assert [s["amount"] for s in steps[1]["samples"]["unchanged"]] == ["69.00", "1234.50", "69.01"]
    changes = {s["platform_backer_id"]: s["changes"] for s in steps[2]["samples"]["updated"]}
    assert changes[ks_key(1)[1]] == {"amount": ["69.00", "70.00"]}
    assert changes[ks_key(3)[1]] == {
        "amount": ["69.01", "69.00"],
        "shipping_paid": ["0.13", "10.00"],
    }


def _random_row(rng, n: int) -> dict:
    pick = rng.choice
    return ks_row(
        n,
        **{
            "Backer Number": pick([str(n), str(n + 100), ""]),
            "Backer Name": pick([f"Backer {n}", "Ada", ""]),
            "Email": pick([f"b{n}@x.se", f"B{n}@X.se", "same@x.se"]),
            "Reward ID": pick(["", "", "7001", "7002", "7003"]),
            "Reward Title": pick(["", "Core", "Core", "Deluxe", "Big Box"]),
            "Reward Minimum": pick(["", "$10", "$20", "$20.005"]),
            "Pledge Amount": pick(["$69", "$69.00", "$70.5", "$0.0050"]),
            "Shipping Amount": pick(["", "$10.00 USD", "$0.125"]),
            "Pledged At": pick(["", "2026/10/02, 10:27", "2026/10/02, 10:27:59", "2026/10/03"]),
            "Pledged Status": pick(["collected", "dropped", "errored"]),
            "Shipping City": pick(["Tyresö", "Nacka"]),
            "Shipping Country Code": pick(["SE", "FI", ""]),
            "Which colour do you want?": pick(["Blue", "Red", ""]),
        },
    )


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_of_files(tmp_path, seed):
    import random

    rng = random.Random(seed)
    files = []
    for number in range(5):
        backers = rng.sample(range(1, 16), rng.randint(3, 12))
        rows = [_random_row(rng, n) for n in backers]
        files.append(ks_csv(tmp_path, f"{number}.csv", rows))
    import_with_both(files)
