"""One writer for bulk jobs that read and compute in batches (the order build,
re-pricing): each batch's writes run in order, on PostgreSQL outside a transaction
in a thread with its own connection while the job prepares the next batch (the
server works on one core while Python works on the other); elsewhere, and inside a
caller's transaction (a second connection would not see its rows), inline."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection, connections


def should_thread() -> bool:
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class BatchWriter:
    """At most one batch in flight; a write's error is raised at the next `submit`,
    `wait` or `close`. `done` sums what the writes returned (rows changed), if anything."""

    def __init__(self, *, threaded: bool, name: str):
        self.done = 0
        self._pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) if threaded else None
        )
        self._pending: Future | None = None

    def submit(self, write: Callable, *args) -> None:
        if self._pool is None:
            self.done += write(*args) or 0
            return
        self.wait()
        self._pending = self._pool.submit(write, *args)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.done += pending.result() or 0

    def close(self) -> int:
        """Wait for the last write (its error is raised here), then close the thread's
        connection and end the thread. Returns `done`."""
        if self._pool is None:
            return self.done
        try:
            self.wait()
        finally:
            self._pool.submit(connections.close_all).result()
            self._pool.shutdown()
        return self.done
