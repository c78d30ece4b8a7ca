"""The PostgreSQL merge: stream records into a temporary table with COPY, then
classify and write with a handful of set-based statements. Same results as
merge_in_python (the rules are in pledges/importers/merge.py's docstring), at
250,000 rows in seconds and constant Python memory.

The file is merged in chunks of CHUNK_ROWS rows, all in the caller's one
transaction: a thread parses the next chunk while the server classifies and
writes the previous one (foreign keys are checked per statement, not at
commit), so the database work runs on the second core instead of after the
parse. A backer appears once per file, so no row depends on a later chunk."""

import contextlib
import io
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import connection, connections
from django.utils import timezone
from psycopg.copy import Copy, FileWriter

from ..models import Backer, BackerEvent, BackerSource, Campaign, ImportRun, Pledge, Reward
from .merge import PLEDGE_FIELDS, SAMPLE_SIZE, MergeResult

RAW_COLUMNS = (
    "seq",
    "line",
    "platform",
    "platform_backer_id",
    "backer_number",
    "name",
    "email",
    "email_normalized",
    "reward_platform_id",
    "reward_title",
    "reward_minimum",
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

CREATE_RAW = """
CREATE TEMP TABLE import_raw (
    seq integer, line integer, platform text, platform_backer_id text, backer_number integer,
    name text, email text, email_normalized text, reward_platform_id text, reward_title text,
    reward_minimum numeric, amount numeric, shipping_paid numeric, bonus_support numeric,
    addons_text text, pledged_at timestamptz, payment_status text, shipping_name text,
    shipping_address_1 text, shipping_address_2 text, shipping_city text, shipping_region text,
    shipping_postal_code text, shipping_country text, shipping_phone text, extra jsonb
) ON COMMIT DROP
"""

CHUNK_ROWS = 25_000
# Rewards already merged by an earlier chunk: the first row of a reward wins.
CREATE_REWARDS_SEEN = """
CREATE TEMP TABLE import_rewards_seen (pid text, title_key text) ON COMMIT DROP
"""

# Text shown for a changed value must equal merge_in_python's _display().
TEXT_FIELDS_BACKER = ("name", "email", "email_normalized")
TEXT_FIELDS_PLEDGE = (
    "addons_text",
    "payment_status",
    "shipping_name",
    "shipping_address_1",
    "shipping_address_2",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
    "shipping_phone",
)
MONEY = ("amount", "shipping_paid", "bonus_support")
# The keys of `changes` that mean the pledge row must be written: a missing pledge
# or a changed pledge field (a backer-only change leaves the pledge alone).
PLEDGE_KEYS = ["pledge", *PLEDGE_FIELDS]


def _change(name: str, old: str, new: str, *, differs: str | None = None) -> str:
    differs = differs or f"{old} IS DISTINCT FROM {new}"
    return f"'{name}', CASE WHEN {differs} THEN jsonb_build_array({old}, {new}) END"


def _changes_sql() -> str:
    backer = [
        _change(
            "backer_number",
            "COALESCE(b.backer_number::text, '')",
            "COALESCE(s.backer_number::text, '')",
        )
    ]
    backer += [_change(f, f"b.{f}", f"s.{f}") for f in TEXT_FIELDS_BACKER]
    pledge = [
        _change("reward_id", "COALESCE(p.reward_id::text, '')", "COALESCE(s.reward_id::text, '')")
    ]
    pledge += [
        _change(m, f"(p.{m})::numeric(12,2)::text", f"(s.{m})::numeric(12,2)::text") for m in MONEY
    ]
    pledge.append(
        _change(
            "pledged_at",
            "COALESCE(to_char(p.pledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '')",
            "COALESCE(to_char(s.pledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '')",
            differs="date_trunc('second', p.pledged_at) IS DISTINCT FROM "
            "date_trunc('second', s.pledged_at)",
        )
    )
    pledge += [_change(f, f"p.{f}", f"s.{f}") for f in TEXT_FIELDS_PLEDGE]
    pledge.append(_change("extra", "'…'", "'…'", differs="p.extra IS DISTINCT FROM s.extra"))
    # Most rows of a re-import are unchanged: one row comparison settles them
    # before any JSON is built.
    same = (
        "(b.backer_number, b.name, b.email, b.email_normalized, p.reward_id, p.amount, "
        "p.shipping_paid, p.bonus_support, date_trunc('second', p.pledged_at), "
        + ", ".join(f"p.{f}" for f in TEXT_FIELDS_PLEDGE)
        + ", p.extra) IS NOT DISTINCT FROM "
        "(s.backer_number, s.name, s.email, s.email_normalized, s.reward_id, s.amount, "
        "s.shipping_paid, s.bonus_support, date_trunc('second', s.pledged_at), "
        + ", ".join(f"s.{f}" for f in TEXT_FIELDS_PLEDGE)
        + ", s.extra)"
    )
    return (
        "CASE WHEN b.id IS NULL THEN '{}'::jsonb "
        f"WHEN p.id IS NULL THEN jsonb_strip_nulls(jsonb_build_object({', '.join(backer)})) "
        "|| jsonb_build_object('pledge', jsonb_build_array('', 'added')) "
        f"WHEN {same} THEN '{{}}'::jsonb "
        f"ELSE jsonb_strip_nulls(jsonb_build_object({', '.join(backer + pledge)})) END"
    )


def _rows(records: Iterator) -> Iterator[tuple]:
    for seq, (r, line) in enumerate(records):
        yield (
            seq,
            line,
            r.platform,
            r.platform_backer_id,
            r.backer_number,
            r.name or "",
            r.email or "",
            r.email_normalized or "",
            r.reward_platform_id or "",
            r.reward_title or "",
            r.reward_minimum,
            r.pledge_amount,
            r.shipping_paid or 0,
            r.bonus_support or 0,
            r.addons_text or "",
            r.pledged_at,
            r.payment_status,
            r.shipping_name or "",
            r.shipping_address_1 or "",
            r.shipping_address_2 or "",
            r.shipping_city or "",
            r.shipping_region or "",
            r.shipping_postal_code or "",
            r.shipping_country or "",
            r.shipping_phone or "",
            json.dumps(r.extra or {}, ensure_ascii=False),
        )


@dataclass
class _Chunk:
    data: bytes  # the rows in COPY's text format
    rows: int
    title_only: bool  # a row names its reward by title only (see merge_in_postgres)


class _Chunks:
    """The file as chunks of CHUNK_ROWS rows in COPY's text format, parsed and
    formatted by a thread of their own.

    The parser holds the GIL while the main thread waits on the server, so the
    two overlap; the main thread only hands finished bytes to the server. One
    chunk waits in the queue at most: memory stays bounded. The parser never
    talks to the database (its connection would be outside the import's
    transaction): its cursor is used for psycopg's adapters only."""

    def __init__(self, records: Iterator, size: int, cursor):
        self._records, self._size, self._cursor = records, size, cursor
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._parse, name="import-parser", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        while self._thread.is_alive():  # unblock a parser waiting to hand over a chunk
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def __iter__(self) -> Iterator[_Chunk]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _format(self, rows: list[tuple]) -> bytes:
        buffer = io.BytesIO()
        # psycopg's own COPY formatting, written to memory (psycopg.copy.FileWriter).
        with Copy(self._cursor, writer=FileWriter(buffer)) as copy:
            for row in rows:
                copy.write_row(row)
        return buffer.getvalue()

    def _parse(self) -> None:
        try:
            rows: list[tuple] = []
            title_only = False
            for row in _rows(self._records):
                rows.append(row)
                title_only = title_only or (not row[8] and bool(row[9]))
                if len(rows) >= self._size:
                    if not self._put(_Chunk(self._format(rows), len(rows), title_only)):
                        return
                    rows, title_only = [], False
            if rows and not self._put(_Chunk(self._format(rows), len(rows), title_only)):
                return
            self._put(None)
        except BaseException as exc:  # handed to the main thread, raised there
            self._put(exc)
        finally:
            close = getattr(self._records, "close", None)
            if close:
                close()
            connections.close_all()


def merge_in_postgres(
    *,
    campaign: Campaign,
    run: ImportRun | None,
    records: Iterator,
    skip_merge: Callable[[], bool],
    progress=None,
    source: str = BackerSource.CAMPAIGN,
) -> MergeResult | None:
    """Call inside a transaction (the temporary tables drop at commit).

    Returns None when `skip_merge()` says so once the whole file is read (an
    apply with blocking problems): the caller then rolls back what earlier
    chunks wrote."""
    p = {
        "c": campaign.pk,
        "cur": campaign.currency,
        "run": run.pk if run else None,
        "now": timezone.now(),
        "source": source,
    }
    result = MergeResult()
    done = 0
    with connection.cursor() as cursor:
        # ON COMMIT DROP removes them at the end; an earlier import in the same
        # transaction (tests, a retried task) must not trip over its leftovers.
        cursor.execute(
            "DROP TABLE IF EXISTS import_raw, import_rewards, import_rewards_seen, import_stage, "
            "import_old_backers, import_old_pledges"
        )
        # No wait for the WAL flush at commit: a crash can only lose this import,
        # which is safe to run again.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(CREATE_RAW)
        cursor.execute(CREATE_REWARDS_SEEN)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Backer._meta.db_table])
        p["backer_seq"] = cursor.fetchone()[0]
        # Check foreign keys as each statement ends, while the parser works on the
        # next chunk, instead of all of them serially at commit.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        copy_sql = f"COPY import_raw ({', '.join(RAW_COLUMNS)}) FROM STDIN"
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper exposes no copy()
        # Rows naming a reward by title only resolve against every reward of the
        # whole file (merge.py's rules): from the first such row on, the rest of
        # the file is loaded and merged as one chunk. Rows with the platform's
        # reward id (all of Kickstarter's and Indiegogo's reports) never wait.
        together = False
        with _Chunks(records, CHUNK_ROWS, raw.connection.cursor()) as chunks:
            _snapshot_campaign(cursor, p)  # while the first chunk is being parsed
            for chunk in chunks:
                if skip_merge():
                    continue  # read on to report every problem; the caller rolls back
                if not together:
                    cursor.execute("TRUNCATE import_raw")
                together = together or chunk.title_only
                with raw.copy(copy_sql) as copy:
                    copy.write(chunk.data)
                done += chunk.rows
                del chunk
                if not together:
                    _merge_chunk(cursor, p, result)
                if progress:
                    progress("merging", done, done)
            if together and not skip_merge():
                _merge_chunk(cursor, p, result)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    if skip_merge():
        return None
    return result


def _snapshot_campaign(cursor, p: dict) -> None:
    """Copy the campaign's backers and pledges as they were before this file.

    Each chunk is classified against these two small indexed tables. Against the
    live tables the planner goes wrong as chunks land: their statistics still say
    "empty" (first import), so it scans every backer of the campaign once per
    row. A backer is in the file once, so rows written by earlier chunks never
    need matching again."""
    backer_t, pledge_t = Backer._meta.db_table, Pledge._meta.db_table
    backer_columns = (
        "id, platform, platform_backer_id, backer_number, name, email, email_normalized"
    )
    pledge_columns = [
        "id",
        "backer_id",
        "reward_id",
        *MONEY,
        "pledged_at",
        *TEXT_FIELDS_PLEDGE,
        "extra",
    ]
    cursor.execute(
        f"""CREATE TEMP TABLE import_old_backers ON COMMIT DROP AS
            SELECT {backer_columns} FROM {backer_t} WHERE campaign_id = %(c)s""",
        p,
    )
    # Statistics before the next join: without them the planner takes the new
    # table for empty and may loop over every pledge once per backer.
    cursor.execute("CREATE INDEX ON import_old_backers (id)")
    cursor.execute("CREATE INDEX ON import_old_backers (platform_backer_id, platform)")
    cursor.execute("ANALYZE import_old_backers")
    cursor.execute(
        f"""CREATE TEMP TABLE import_old_pledges ON COMMIT DROP AS
            SELECT {", ".join(f"p.{c}" for c in pledge_columns)}
            FROM {pledge_t} p JOIN import_old_backers b ON b.id = p.backer_id"""
    )
    cursor.execute("CREATE INDEX ON import_old_pledges (backer_id)")
    cursor.execute("ANALYZE import_old_pledges")


def _merge_chunk(cursor, p: dict, result: MergeResult) -> None:
    """Merge the rows now in import_raw (one chunk) and add to `result`."""
    reward_t, backer_t = Reward._meta.db_table, Backer._meta.db_table
    pledge_t, event_t = Pledge._meta.db_table, BackerEvent._meta.db_table
    # Rewards (rules in merge.py's docstring). The first row of each reward id /
    # title: one pass with a tiny hash aggregate, no sort of the whole file.
    cursor.execute("DROP TABLE IF EXISTS import_rewards, import_stage")
    cursor.execute(
        """
        CREATE TEMP TABLE import_rewards ON COMMIT DROP AS
        SELECT s.reward_platform_id AS pid, s.reward_title AS title,
               s.reward_minimum AS minimum, s.seq
        FROM import_raw s JOIN (
            SELECT min(seq) AS seq FROM import_raw
            WHERE reward_platform_id <> '' OR reward_title <> ''
            GROUP BY reward_platform_id,
                     CASE WHEN reward_platform_id = '' THEN reward_title END
        ) f USING (seq)
        WHERE NOT EXISTS (
            SELECT 1 FROM import_rewards_seen x WHERE x.pid = s.reward_platform_id
               AND x.title_key = CASE WHEN s.reward_platform_id = '' THEN s.reward_title
                                      ELSE '' END)
        """
    )
    cursor.execute(
        "INSERT INTO import_rewards_seen SELECT pid, CASE WHEN pid = '' THEN title ELSE '' END "
        "FROM import_rewards"
    )
    first_by_title = (
        f"(SELECT DISTINCT ON (title) id, title, platform_reward_id FROM {reward_t} "
        "WHERE campaign_id = %(c)s ORDER BY title, id)"
    )
    # 1. A tier first known by its file name only gets the platform's id now.
    cursor.execute(
        f"""
        UPDATE {reward_t} r SET platform_reward_id = a.pid
        FROM (SELECT DISTINCT ON (w.title) w.pid, w.title FROM import_rewards w
              WHERE w.pid <> '' AND w.title <> '' AND NOT EXISTS (
                  SELECT 1 FROM {reward_t} o WHERE o.campaign_id = %(c)s
                     AND o.platform_reward_id = w.pid)
              ORDER BY w.title, w.seq) a
        JOIN {first_by_title} f ON f.title = a.title
        WHERE r.id = f.id AND f.platform_reward_id = ''
        """,
        p,
    )
    # 2. By the platform's id: title and minimum updated independently.
    cursor.execute(
        f"""
        WITH changed AS (
            UPDATE {reward_t} r
            SET title = CASE WHEN w.title <> '' THEN w.title ELSE r.title END,
                minimum = COALESCE(w.minimum, r.minimum),
                minimum_currency = CASE WHEN w.minimum <> r.minimum THEN %(cur)s
                                        ELSE r.minimum_currency END
            FROM import_rewards w
            WHERE w.pid <> '' AND r.campaign_id = %(c)s AND r.platform_reward_id = w.pid
              AND ((w.title <> '' AND w.title <> r.title) OR w.minimum <> r.minimum)
            RETURNING r.id
        )
        INSERT INTO {reward_t} (campaign_id, platform_reward_id, title, minimum,
                                minimum_currency, backer_count)
        SELECT %(c)s, w.pid, COALESCE(NULLIF(w.title, ''), 'Reward ' || w.pid),
               COALESCE(w.minimum, 0), %(cur)s, 0
        FROM import_rewards w WHERE w.pid <> '' AND NOT EXISTS (
            SELECT 1 FROM {reward_t} r WHERE r.campaign_id = %(c)s AND r.platform_reward_id = w.pid)
        ORDER BY w.seq
        """,
        p,
    )
    result.new_rewards += cursor.rowcount
    # 3. By title, for rows without an id: the minimum of a reward whose own id
    # is in the file is left to its id rows.
    cursor.execute(
        f"""
        WITH changed AS (
            UPDATE {reward_t} r SET minimum = w.minimum, minimum_currency = %(cur)s
            FROM import_rewards w JOIN {first_by_title} f ON f.title = w.title
            WHERE w.pid = '' AND r.id = f.id AND w.minimum <> r.minimum
              AND NOT EXISTS (SELECT 1 FROM import_rewards_seen i
                              WHERE i.pid <> '' AND i.pid = r.platform_reward_id)
            RETURNING r.id
        )
        INSERT INTO {reward_t} (campaign_id, platform_reward_id, title, minimum,
                                minimum_currency, backer_count)
        SELECT %(c)s, '', w.title, COALESCE(w.minimum, 0), %(cur)s, 0
        FROM import_rewards w WHERE w.pid = '' AND NOT EXISTS (
            SELECT 1 FROM {reward_t} r WHERE r.campaign_id = %(c)s AND r.title = w.title)
        ORDER BY w.seq
        """,
        p,
    )
    result.new_rewards += cursor.rowcount

    # Classify every row against the database in one pass. A new backer's id is
    # drawn here: its pledge is then written without joining the backers back
    # (whose statistics are stale right after the insert: a nested loop).
    # A chunk probes the snapshot's index row by row: cheaper than hashing the
    # whole snapshot again for every chunk.
    cursor.execute("SET LOCAL enable_hashjoin = off")
    cursor.execute(
        f"""
        CREATE TEMP TABLE import_stage ON COMMIT DROP AS
        WITH resolved AS (
            SELECT s.*, COALESCE(rid.id, rt.id) AS reward_id
            FROM import_raw s
            LEFT JOIN {reward_t} rid ON rid.campaign_id = %(c)s AND s.reward_platform_id <> ''
                 AND rid.platform_reward_id = s.reward_platform_id
            LEFT JOIN (SELECT DISTINCT ON (title) id, title FROM {reward_t}
                       WHERE campaign_id = %(c)s ORDER BY title, id) rt
                 ON s.reward_platform_id = '' AND s.reward_title <> '' AND rt.title = s.reward_title
        )
        SELECT s.*, b.id AS backer_id, {_changes_sql()} AS changes,
               CASE WHEN b.id IS NULL THEN nextval(%(backer_seq)s::regclass) END AS new_backer_id
        FROM resolved s
        LEFT JOIN import_old_backers b ON b.platform = s.platform
             AND b.platform_backer_id = s.platform_backer_id
        LEFT JOIN import_old_pledges p ON p.backer_id = b.id
        """,
        p,
    )
    cursor.execute("SET LOCAL enable_hashjoin = on")
    cursor.execute(
        """
        SELECT count(*) FILTER (WHERE backer_id IS NULL),
               count(*) FILTER (WHERE backer_id IS NOT NULL AND changes <> '{}'::jsonb),
               count(*) FILTER (WHERE backer_id IS NOT NULL AND changes = '{}'::jsonb)
        FROM import_stage
        """
    )
    new, updated, unchanged = cursor.fetchone()
    result.new += new
    result.updated += updated
    result.unchanged += unchanged
    for kind, where in (
        ("new", "backer_id IS NULL"),
        ("updated", "backer_id IS NOT NULL AND changes <> '{}'::jsonb"),
        ("unchanged", "backer_id IS NOT NULL AND changes = '{}'::jsonb"),
    ):
        wanted = SAMPLE_SIZE - len(result.samples[kind])
        if wanted <= 0:
            continue
        cursor.execute(
            f"""SELECT line, platform_backer_id, name, email, reward_title,
                       amount::numeric(12,2)::text, payment_status, changes
                FROM import_stage WHERE {where} ORDER BY seq LIMIT {wanted}"""
        )
        for line, pid, name, email, reward, amount, status, changes in cursor.fetchall():
            sample = {
                "line": line,
                "platform_backer_id": pid,
                "name": name,
                "email": email,
                "reward": reward,
                "amount": amount,
                "status": status,
            }
            if kind == "updated":
                sample["changes"] = changes if isinstance(changes, dict) else json.loads(changes)
            result.samples[kind].append(sample)
    cursor.execute(
        "SELECT key, count(*) FROM import_stage, jsonb_object_keys(changes) AS key "
        "WHERE backer_id IS NOT NULL GROUP BY key"
    )
    result.field_changes.update(dict(cursor.fetchall()))
    cursor.execute(
        """SELECT changes->'payment_status'->>0, changes->'payment_status'->>1, count(*)
           FROM import_stage WHERE changes ? 'payment_status' GROUP BY 1, 2"""
    )
    result.status_changes.update({f"{a} → {b}": n for a, b, n in cursor.fetchall()})

    if not (new or updated):
        return
    # Writes: new backers, changed backers, their pledges, one event per update.
    # With statistics on which rows have a backer, joining
    # the chunk to the backers goes through their primary key.
    cursor.execute("ANALYZE import_stage (backer_id)")
    if new:
        cursor.execute(
            f"""
            INSERT INTO {backer_t} (id, campaign_id, platform, platform_backer_id, backer_number,
                name, email, email_normalized, source, first_import_run_id, last_import_run_id,
                created_at, updated_at)
            SELECT new_backer_id, %(c)s, platform, platform_backer_id, backer_number, name, email,
                   email_normalized,
                   %(source)s, %(run)s, %(run)s, %(now)s, %(now)s
            FROM import_stage WHERE backer_id IS NULL
            """,
            p,
        )
    if updated:
        cursor.execute(
            f"""
            UPDATE {backer_t} b SET backer_number = s.backer_number, name = s.name, email = s.email,
                   email_normalized = s.email_normalized, last_import_run_id = %(run)s, updated_at = %(now)s
            FROM import_stage s WHERE s.backer_id = b.id AND s.changes <> '{{}}'::jsonb
            """,
            p,
        )
    pledge_columns = [
        "reward_id",
        *(c for m in MONEY for c in (m, f"{m}_currency")),
        "addons_text",
        "pledged_at",
        *TEXT_FIELDS_PLEDGE[1:],
        "extra",
    ]
    select = []
    for column in pledge_columns:
        if column.endswith("_currency"):
            select.append("%(cur)s")
        else:
            select.append(f"s.{column}")
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in pledge_columns)
    insert = f"""
        INSERT INTO {pledge_t} (backer_id, {", ".join(pledge_columns)}, created_at, updated_at)
        SELECT COALESCE(s.backer_id, s.new_backer_id), {", ".join(select)}, %(now)s, %(now)s
        FROM import_stage s"""
    if new:  # a new backer has no pledge yet: a plain insert, no conflict check
        cursor.execute(f"{insert} WHERE s.backer_id IS NULL", p)
    if updated:
        cursor.execute(
            f"""{insert} WHERE s.backer_id IS NOT NULL AND s.changes ?| %(pledge_keys)s
            ON CONFLICT (backer_id) DO UPDATE SET {updates}, updated_at = EXCLUDED.updated_at""",
            {**p, "pledge_keys": PLEDGE_KEYS},
        )
    if updated:
        cursor.execute(
            f"""
            INSERT INTO {event_t} (backer_id, run_id, actor_id, action, detail, created_at)
            SELECT backer_id, %(run)s, NULL, 'updated', changes, %(now)s
            FROM import_stage WHERE backer_id IS NOT NULL AND changes <> '{{}}'::jsonb ORDER BY seq
            """,
            p,
        )
