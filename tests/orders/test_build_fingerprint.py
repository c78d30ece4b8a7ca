"""The catalog's digest (part of every order's build fingerprint) is the same in every
process, so an unchanged campaign is never rebuilt because another worker built it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIGEST = """
import django
django.setup()
from inventory.bom import Catalog, CatalogGoal, CatalogRule
rule = CatalogRule(
    id=1, name="EU edition", from_sku_id=1, to_sku_id=2, backer_can_override=False,
    countries=frozenset({"DE", "AT", "CH", "FR", "IT", "ES", "NL", "BE", "PL", "SE"}),
)
goal = CatalogGoal(
    id=1, name="Dice", sku_id=3, quantity=1, from_reward_id=None, pledged_before=None
)
from orders.services.building import catalog_digest
print(catalog_digest(Catalog(campaign_id=1, rules=[rule], goals=[goal])))
"""


def _digest_with_hash_seed(seed: int) -> str:
    env = {
        **os.environ,
        "PYTHONHASHSEED": str(seed),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", DIGEST], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_catalog_digest_does_not_depend_on_the_process_hash_seed():
    digests = {_digest_with_hash_seed(seed) for seed in (1, 2, 3)}
    assert len(digests) == 1
