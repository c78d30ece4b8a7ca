"""Background runs of one campaign that a back-office page follows with a progress bar
(issuing the missing invoices, re-pricing the open orders): the page starts the run,
a Celery task does the work and records how far it got in the cache, and an htmx
fragment polls that record every 2 s until the run is finished. One run per kind and
campaign at a time; its record stays a day, for the page to show how it ended."""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

_SECONDS = 24 * 3600


class CampaignJob:
    def __init__(self, kind: str, campaign_id: int):
        self.key = f"job:{kind}:{campaign_id}"

    def get(self) -> dict | None:
        """total, done, finished and what the run reported at its end (None: no run
        lately); with `percent` for the bar."""
        record = cache.get(self.key)
        if record is None:
            return None
        total = record["total"]
        return {**record, "percent": round(100 * record["done"] / total) if total else 100}

    def running(self) -> bool:
        record = cache.get(self.key)
        return record is not None and not record["finished"]

    def start(self, total: int) -> None:
        cache.set(self.key, {"total": total, "done": 0, "finished": False}, _SECONDS)

    def advance(self, done: int) -> None:
        record = cache.get(self.key) or {"total": done, "finished": False}
        cache.set(self.key, {**record, "done": done}, _SECONDS)

    def finish(self, *, done: int, error: bool = False, **result) -> None:
        record = cache.get(self.key) or {"total": done}
        record.update(result, done=done, finished=True, error=error)
        record["total"] = max(record["total"], done)
        cache.set(self.key, record, _SECONDS)

    def launch(self, *, count: Callable[[], int], task, args: tuple) -> int:
        """Start `task.delay(*args)` once this transaction commits, for the `count()`
        items to do; returns that count (0: nothing to do, no task). A run already
        going is left to finish (returns its total)."""
        if self.running():
            return self.get()["total"]
        total = count()
        if total:
            self.start(total)
            transaction.on_commit(lambda: task.delay(*args))
        return total

    def run(self, work: Callable, *, summary: Callable[..., dict], every: int = 50):
        """The task's side: `work(progress)` with the progress recorded every `every`
        items, then the record finished with `summary(result)` (or marked stopped by
        an error, which is raised on)."""
        progress = self.counter(every)
        try:
            result = work(progress)
        except Exception:
            self.finish(done=progress.seen(), error=True)
            raise
        self.finish(done=progress.seen(), **summary(result))
        return result

    def counter(self, every: int = 50):
        """A progress(n) callback that records the running count every `every` items."""
        seen = 0

        def progress(n: int) -> None:
            nonlocal seen
            before, seen = seen, seen + n
            if before // every != seen // every:
                self.advance(seen)

        progress.seen = lambda: seen
        return progress
