"""Benchmark: a surge of backers completing the survey, gunicorn + PostgreSQL.

    DATABASE_URL=postgres://… .venv/bin/python bench/survey_surge.py [--backers 2000]
        [--clients 32] [--seconds 20] [--workers 4] [--threads 1] [--reuse]
    DATABASE_URL=postgres://… .venv/bin/python bench/survey_surge.py --reuse --profile 20

Seeds a campaign with a live survey (a reward with a SKU and a colour choice, two
add-ons — one stock-limited with plenty of stock —, a required short-text question)
and N backers with pledges and invites; --reuse keeps a seed of the same size and
only forgets the answers of earlier runs. Then starts gunicorn on a free loopback
port with production settings (DEBUG off, the same database) and measures, with the
same number of concurrent keep-alive clients (asyncio streams in one thread):

  1. a bare Django view (bench/surge_urls.py) through the normal middleware stack;
  2. backers, one after the other per client, following their magic link and every
     step of the survey (a GET for the form and CSRF token, a POST that redirects),
     until the time is up (surveys under way then are finished) or the backers run out.

Prints requests/s and p50/p95 latency of both, completed submissions/s, a table per
step, the CPU the client took, and PASS/FAIL against the goal (p95 ≤ 250 ms and the
survey's requests/s ≥ 25 % of the bare view's). Exits non-zero on errors (a non-2xx/3xx
answer, a failed request or a survey that did not complete), not on a missed goal.

--profile K runs K surveys in this process instead (no gunicorn, Django's test
client): queries and SQL time per step, repeated queries, and cProfile's biggest
costs per step.
"""

import argparse
import asyncio
import contextlib
import cProfile
import http.client
import math
import os
import pstats
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
STATIC_ROOT = OUT / "surge-static"
# Production settings, loosened only where plain HTTP on loopback needs it. The
# server gets the same values (plus ALLOWED_HOSTS), so links signed here open there.
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.surge_settings",
    "DEBUG": "false",
    "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "STATIC_ROOT": str(STATIC_ROOT),
}
os.environ.update(SERVER_ENV)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402
from djmoney.money import Money  # noqa: E402

from accounts.models import Organization  # noqa: E402
from bench.surge_urls import BARE_PATH  # noqa: E402
from inventory.models import Sku  # noqa: E402
from pledges.models import (  # noqa: E402
    Backer,
    Campaign,
    ChoiceGroup,
    ChoiceOption,
    Pledge,
    Reward,
    RewardItem,
)
from surveys.links import invite_token  # noqa: E402
from surveys.models import (  # noqa: E402
    AddOnOffer,
    AddOnOfferItem,
    CartLine,
    Question,
    QuestionKind,
    Survey,
    SurveyInvite,
    SurveyResponse,
    SurveyStatus,
)

SLUG = "bench-surge"
GOAL_P95_MS = 250.0
GOAL_RATIO = 0.25
STOCK_PER_BACKER = 2  # the limited add-on's stock: twice what all backers buy
REQUEST_TIMEOUT = 30.0  # seconds; a request slower than this is an error
ADDRESS = {
    "name": "Surge Backer",
    "company_name": "",
    "street_address": "Invalidenstraße 116",
    "city": "Berlin",
    "postal_code": "10115",
    "country_code": "DE",
    "phone": "",
    "vat_number": "",
}
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- seed ---------------------------------------------------------------------


@dataclass
class World:
    """What the clients post: the seeded campaign's ids."""

    campaign: Campaign
    survey: Survey
    group_id: int
    option_id: int
    mat_id: int
    coin_id: int
    question_id: int

    @property
    def root(self) -> str:
        return f"/s/{self.campaign.slug}/"

    def plan(self) -> list[tuple[str, dict[str, str]]]:
        """Every step of the survey in order, with what the backer posts."""
        return [
            ("reward", {}),
            ("choices", {f"group_{self.group_id}": str(self.option_id)}),
            ("addons", {f"offer_{self.mat_id}": "1", f"offer_{self.coin_id}": "1"}),
            ("questions", {f"q_{self.question_id}": "Surge"}),
            ("address", ADDRESS),
            ("review", {}),
        ]


def sku(org: Organization, code: str, name: str) -> Sku:
    found, _ = Sku.objects.update_or_create(
        organization=org, code=code, defaults={"name": name, "weight_g": 500}
    )
    return found


def build(org: Organization, backers: int) -> None:
    """The campaign, its survey and `backers` backers with pledges and invites."""
    campaign = Campaign.objects.create(
        organization=org, name="Survey surge bench", slug=SLUG, currency="USD"
    )
    survey = Survey.objects.create(
        campaign=campaign, status=SurveyStatus.LIVE, opened_at=datetime.now(UTC)
    )
    reward = Reward.objects.create(
        campaign=campaign,
        platform_reward_id="1",
        title="Core box",
        minimum=Money(Decimal("59.00"), "USD"),
        backer_count=backers,
    )
    RewardItem.objects.create(reward=reward, sku=sku(org, "SURGE-BOX", "Core box"), quantity=1)
    group = ChoiceGroup.objects.create(campaign=campaign, reward=reward, name="Dice colour")
    for position, (label, code) in enumerate([("Red", "SURGE-DICE-R"), ("Blue", "SURGE-DICE-B")]):
        ChoiceOption.objects.create(
            group=group,
            label=label,
            sku=sku(org, code, f"{label} dice"),
            is_default=position == 0,
            position=position,
        )
    for position, (name, price, code, limits) in enumerate(
        [
            ("Playmat", "15.00", "SURGE-MAT", {"per_backer_limit": 3}),
            ("Metal coins", "20.00", "SURGE-COIN", {"stock_limit": STOCK_PER_BACKER * backers}),
        ]
    ):
        offer = AddOnOffer.objects.create(
            campaign=campaign,
            name=name,
            price=Money(Decimal(price), "USD"),
            position=position,
            **limits,
        )
        AddOnOfferItem.objects.create(offer=offer, sku=sku(org, code, name), quantity=1)
    Question.objects.create(
        survey=survey, kind=QuestionKind.SHORT_TEXT, label="Name on the box", required=True
    )
    now = datetime.now(UTC)
    people = Backer.objects.bulk_create(
        (
            Backer(
                campaign=campaign,
                platform="kickstarter",
                platform_backer_id=str(3_000_000_000 + n),
                backer_number=n + 1,
                name=f"Surge Backer {n + 1}",
                email=f"surge{n + 1}@example.net",
                email_normalized=f"surge{n + 1}@example.net",
            )
            for n in range(backers)
        ),
        batch_size=2000,
    )
    Pledge.objects.bulk_create(
        (
            Pledge(
                backer=backer,
                reward=reward,
                amount=Money(Decimal("100.00"), "USD"),
                shipping_paid=Money(Decimal("10.00"), "USD"),
                pledged_at=now - timedelta(days=60),
                shipping_name=backer.name,
                shipping_address_1="Invalidenstraße 116",
                shipping_city="Berlin",
                shipping_postal_code="10115",
                shipping_country="DE",
            )
            for backer in people
        ),
        batch_size=2000,
    )
    SurveyInvite.objects.bulk_create(
        (
            SurveyInvite(survey=survey, backer=backer, email=backer.email, sent_at=now)
            for backer in people
        ),
        batch_size=2000,
    )


def drop(campaign: Campaign) -> None:
    """Plain DELETEs for the rows per backer (the ORM's cascade would load them
    all), then the campaign and its few dozen rows through the ORM."""
    tables = {
        model: model._meta.db_table
        for model in (CartLine, SurveyResponse, SurveyInvite, Pledge, Backer)
    }
    backers = f"SELECT id FROM {tables[Backer]} WHERE campaign_id = %s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {tables[CartLine]} WHERE response_id IN "
            f"(SELECT id FROM {tables[SurveyResponse]} WHERE backer_id IN ({backers}))",
            [campaign.pk],
        )
        for model in (SurveyResponse, SurveyInvite, Pledge):
            cursor.execute(
                f"DELETE FROM {tables[model]} WHERE backer_id IN ({backers})", [campaign.pk]
            )
        cursor.execute(f"DELETE FROM {tables[Backer]} WHERE campaign_id = %s", [campaign.pk])
        campaign.delete()


def seed(backers: int, *, reuse: bool) -> World:
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    existing = Campaign.objects.filter(slug=SLUG).first()
    survey = Survey.objects.filter(campaign=existing).first() if existing else None
    started = time.perf_counter()
    if (
        reuse
        and survey is not None
        and SurveyInvite.objects.filter(survey=survey, is_test=False).count() == backers
    ):
        # Every backer unused again: answers, carts and opened marks of earlier runs go.
        with transaction.atomic():
            forgotten, _ = SurveyResponse.objects.filter(invite__survey=survey).delete()
            SurveyInvite.objects.filter(survey=survey).exclude(opened_at=None).update(
                opened_at=None
            )
            # The carts went with the answers: nothing is sold any more.
            AddOnOffer.objects.filter(campaign=existing).update(sold_units=0)
        print(
            f"seed: reusing campaign {SLUG!r} with {backers:,} backers "
            f"(forgot {forgotten:,} rows of earlier runs in {time.perf_counter() - started:.1f} s)"
        )
    else:
        if existing is not None:
            drop(existing)
        with transaction.atomic():
            build(org, backers)
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE "
                + ", ".join(
                    m._meta.db_table for m in (Backer, Pledge, SurveyInvite, SurveyResponse)
                )
            )
        print(
            f"seed: built campaign {SLUG!r} with {backers:,} backers, pledges and invites "
            f"in {time.perf_counter() - started:.1f} s"
        )
    campaign = Campaign.objects.get(slug=SLUG)
    survey = campaign.survey
    group = ChoiceGroup.objects.get(campaign=campaign)
    offers = {o.name: o.pk for o in AddOnOffer.objects.filter(campaign=campaign)}
    return World(
        campaign=campaign,
        survey=survey,
        group_id=group.pk,
        option_id=group.options.get(label="Blue").pk,
        mat_id=offers["Playmat"],
        coin_id=offers["Metal coins"],
        question_id=survey.questions.get().pk,
    )


def unused_invites(world: World) -> list[SurveyInvite]:
    return list(
        SurveyInvite.objects.filter(survey=world.survey, is_test=False, response__isnull=True)
        .only("pk", "token_version")
        .order_by("pk")
    )


def collect_static() -> str:
    """Production settings serve hashed static names from a manifest: collect once."""
    manifest = STATIC_ROOT / "staticfiles.json"
    sources = [ROOT / "static", *ROOT.glob("*/static")]
    newest = max(
        (p.stat().st_mtime for folder in sources for p in folder.rglob("*") if p.is_file()),
        default=0,
    )
    if manifest.is_file() and manifest.stat().st_mtime >= newest:
        return f"reused {STATIC_ROOT.relative_to(ROOT)}"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=os.environ,
        check=True,
    )
    return (
        f"collected into {STATIC_ROOT.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s"
    )


# --- the server -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on loopback, started and stopped by this script (by its pids only)."""

    def __init__(self, *, workers: int, threads: int):
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.log_path = OUT / "surge-gunicorn.log"
        self.process: subprocess.Popen | None = None
        self.kind = "gthread" if threads > 1 else "sync"

    def describe(self) -> str:
        return (
            f"gunicorn, {self.workers} workers × {self.threads} thread"
            f"{'s' if self.threads > 1 else ''} ({self.kind}) on 127.0.0.1:{self.port}"
        )

    def start(self) -> None:
        env = {**os.environ, **SERVER_ENV, "DATABASE_URL": os.environ["DATABASE_URL"]}
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.workers}",
            f"--threads={self.threads}",
            f"--chdir={ROOT}",
            "--timeout=60",
            "--graceful-timeout=10",
            "--log-level=warning",
            "--no-control-socket",
        ]
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        # Its own session: a Ctrl-C reaches this script, which stops gunicorn itself.
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200 and len(self.pids()) > self.workers:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout:.0f} s:\n{self.tail()}")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.process is None:
            return []
        master = self.process.pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            return [master]
        return [master, *(int(pid) for pid in children)]

    def cpu_seconds(self) -> float:
        return sum(process_cpu(pid) for pid in self.pids())

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is not None:
            self.close_log()
            return
        workers = self.pids()[1:]
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            for pid in [self.process.pid, *workers]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.close_log()

    def close_log(self) -> None:
        if not self.log.closed:
            self.log.close()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process, from /proc (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, idle, iowait, irq, softirq = values
    tick = os.sysconf("SC_CLK_TCK")
    busy = user + nice + system + irq + softirq
    return busy / tick, (busy + idle + iowait) / tick


def other_work(seconds: float = 2.0) -> float:
    """Share of all cores busy while this script waits (others' work)."""
    busy, total = machine_cpu()
    time.sleep(seconds)
    busy_after, total_after = machine_cpu()
    return (busy_after - busy) / max(total_after - total, 1e-9)


class DatabaseCpu:
    """CPU seconds of this database's PostgreSQL backends over a phase.

    Backends come and go (CONN_MAX_AGE recycles them), so a thread looks at the
    process titles ("postgres: … <user> <database> 127.0.0.1(…)") four times a
    second and keeps each backend's last reading; one that starts during the
    phase counts whole."""

    def __init__(self):
        db = settings.DATABASES["default"]
        self.title = f" {db['USER']} {db['NAME']} ".encode()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _backends(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    title = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if title.startswith(b"postgres:") and self.title in title:
                    pids.append(int(entry.name))
        return pids

    def _read(self, starting: bool) -> None:
        for pid in self._backends():
            seconds = process_cpu(pid)
            if pid not in self.first:
                self.first[pid] = seconds if starting else 0.0
            self.last[pid] = seconds

    def _watch(self) -> None:
        while not self.done.wait(0.25):
            self._read(starting=False)

    def start(self) -> "DatabaseCpu":
        self._read(starting=True)
        self.thread.start()
        return self

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self._read(starting=False)
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the clients ----------------------------------------------------------------
#
# One asyncio loop in this process drives every client: no thread switching and a
# minimal HTTP/1.1 reader, so the client takes little of the CPU the server needs.


@dataclass
class Reply:
    status: int
    location: str
    body: bytes


class Browser:
    """One backer's browser: a keep-alive connection and a cookie jar, nothing more."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}
        self.connections = 0
        self.retries = 0

    def forget(self) -> None:
        """A new backer on this client: no cookies of the last one."""
        self.cookies.clear()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, fields: dict | None = None) -> Reply:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "Accept-Language: en",
            "User-Agent: pledgeport-survey-surge",
        ]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        body = b""
        if fields is not None:
            body = urlencode(fields).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
            lines.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in range(2):
            fresh = self.writer is None
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    if fresh:
                        self.reader, self.writer = await asyncio.open_connection(
                            "127.0.0.1", self.port
                        )
                        self.connections += 1
                    self.writer.write(message)
                    return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection before reading the
                # request: nothing was processed, send it again on a new one.
                self.close()
                if attempt or fresh:
                    raise
                self.retries += 1
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    async def _response(self) -> Reply:
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
        version, status = status_line.split(b" ", 2)[:2]
        headers: dict[bytes, bytes] = {}
        cookies: list[bytes] = []
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip()
            if name == b"set-cookie":
                cookies.append(value)
            headers[name] = value
        if b"content-length" in headers:
            content = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            content = b""
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                content += await self.reader.readexactly(size)
                await self.reader.readline()
            while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
        else:
            content = await self.reader.read()
            self.close()
        if headers.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0":
            self.close()
        for cookie in cookies:
            text = cookie.decode("latin-1")
            name, _, value = text.split(";", 1)[0].partition("=")
            lowered = text.lower()
            if "max-age=0" in lowered or "01 jan 1970" in lowered:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        location = headers.get(b"location", b"").decode("latin-1")
        return Reply(int(status), location, content)


class CutOff(Exception):
    """The hard time limit hit: this survey stops where it is."""


class Broken(Exception):
    """The survey did not go as a backer's would: an error."""


@dataclass
class Tally:
    """What the clients saw."""

    samples: list[tuple[str, float]] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    request_errors: int = 0
    completed: list[int] = field(default_factory=list)  # invite ids
    failed: int = 0
    cut_off: int = 0
    connections: int = 0
    retries: int = 0
    last_end: float = 0.0


class Pool:
    """The backers not yet taken, handed out one at a time."""

    def __init__(self, invites: list[SurveyInvite]):
        self.invites = invites
        self.taken = 0

    def take(self) -> SurveyInvite | None:
        if self.taken >= len(self.invites):
            return None
        self.taken += 1
        return self.invites[self.taken - 1]


@dataclass
class Clock:
    """`stop`: no new survey (or bare request) starts after it; `limit`: a survey
    still running then is cut off (a hard bound when the server crawls)."""

    stop: float = math.inf
    limit: float = math.inf


async def timed(browser: Browser, tally: Tally, label: str, method, path, fields=None) -> Reply:
    started = time.perf_counter()
    try:
        reply = await browser.request(method, path, fields)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        tally.request_errors += 1
        tally.statuses["failed"] += 1
        raise Broken(f"{label} {path}: {type(exc).__name__}: {exc}") from exc
    ended = time.perf_counter()
    tally.samples.append((label, ended - started))
    tally.statuses[reply.status] += 1
    tally.last_end = max(tally.last_end, ended)
    if not 200 <= reply.status < 400:
        tally.request_errors += 1
        raise Broken(f"{label} {path}: HTTP {reply.status}")
    return reply


async def complete_survey(browser: Browser, tally: Tally, world: World, token: str, clock):
    """Follow the magic link and every step to the done page, as a browser would."""
    root = world.root

    async def call(label, method, path, fields=None):
        if time.perf_counter() >= clock.limit:
            raise CutOff
        return await timed(browser, tally, label, method, path, fields)

    def expect_redirect(reply: Reply, label: str, target: str) -> None:
        if reply.status != 302 or reply.location != target:
            raise Broken(f"{label}: {reply.status} → {reply.location!r}, expected {target!r}")

    reply = await call("link", "GET", f"{root}t/{token}/")
    expect_redirect(reply, "link", root)
    plan = world.plan()
    reply = await call("home", "GET", root)
    expect_redirect(reply, "home", f"{root}step/{plan[0][0]}/")
    location = reply.location
    for n, (step, fields) in enumerate(plan):
        page = await call(f"{step} GET", "GET", location)
        found = CSRF_INPUT.search(page.body) if page.status == 200 else None
        if found is None:
            raise Broken(f"{step} GET: {page.status}, no form with a CSRF token")
        reply = await call(
            f"{step} POST",
            "POST",
            location,
            {"csrfmiddlewaretoken": found.group(1).decode(), **fields},
        )
        following = f"{root}step/{plan[n + 1][0]}/" if n + 1 < len(plan) else f"{root}done/"
        expect_redirect(reply, f"{step} POST", following)
        location = reply.location
    done = await call("done GET", "GET", location)
    if done.status != 200:
        raise Broken(f"done GET: {done.status}")


async def surveys_client(browser: Browser, tally: Tally, clock: Clock, world: World, pool: Pool):
    """Backer after backer until the stop time; the survey under way is finished."""
    while time.perf_counter() < clock.stop and (invite := pool.take()) is not None:
        browser.forget()
        try:
            await complete_survey(browser, tally, world, invite_token(invite), clock)
        except CutOff:
            tally.cut_off += 1
        except Broken as exc:
            tally.failed += 1
            tally.errors.append(str(exc))
        else:
            tally.completed.append(invite.pk)


async def bare_client(browser: Browser, tally: Tally, clock: Clock):
    while time.perf_counter() < clock.stop:
        try:
            reply = await timed(browser, tally, "bare GET", "GET", BARE_PATH)
        except Broken as exc:
            tally.errors.append(str(exc))
            continue
        if reply.status != 200:
            tally.request_errors += 1
            tally.errors.append(f"bare GET: HTTP {reply.status}")


@dataclass
class Phase:
    name: str
    clients: int
    window: float  # the time new work was started in
    elapsed: float  # until the last answer
    tally: Tally
    client_cpu: float
    server_cpu: float
    database_cpu: float
    machine_busy: float
    machine_total: float

    @property
    def latencies(self) -> list[float]:
        return sorted(seconds for _label, seconds in self.tally.samples)

    @property
    def requests_per_second(self) -> float:
        return len(self.tally.samples) / self.elapsed

    @property
    def errors(self) -> int:
        return self.tally.request_errors + self.tally.failed


def run_phase(name: str, clients: int, seconds: float, server: Server, client, *args) -> Phase:
    """`clients` concurrent `client(browser, tally, clock, *args)` for `seconds`; work under
    way then is finished, within a hard limit of max(2 × seconds, 60 s) more."""
    tally, clock = Tally(), Clock()
    browsers = [Browser(server.port) for _ in range(clients)]

    async def everyone() -> float:
        started = time.perf_counter()
        clock.stop = started + seconds
        clock.limit = clock.stop + max(2 * seconds, 60.0)
        await asyncio.gather(*(client(b, tally, clock, *args) for b in browsers))
        for browser in browsers:
            browser.close()
        return started

    database = DatabaseCpu().start()
    cpu_before, server_before, machine_before = client_cpu(), server.cpu_seconds(), machine_cpu()
    started = asyncio.run(everyone())
    machine_after = machine_cpu()
    tally.connections = sum(b.connections for b in browsers)
    tally.retries = sum(b.retries for b in browsers)
    return Phase(
        name=name,
        clients=clients,
        window=seconds,
        elapsed=max(tally.last_end, started + 1e-9) - started,
        tally=tally,
        client_cpu=client_cpu() - cpu_before,
        server_cpu=server.cpu_seconds() - server_before,
        database_cpu=database.stop(),
        machine_busy=machine_after[0] - machine_before[0],
        machine_total=machine_after[1] - machine_before[1],
    )


# --- output ---------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )
        for row in rows
    ]


def show_cpu(phase: Phase) -> None:
    cores = os.cpu_count() or 1
    wall = phase.elapsed

    def share(seconds: float) -> str:
        return f"{seconds / wall * 100:.0f} %"

    busy = phase.machine_busy / phase.machine_total * cores * wall if phase.machine_total else 0
    other = max(0.0, busy - phase.client_cpu - phase.server_cpu - phase.database_cpu)
    print(
        f"  CPU ({cores} cores = {cores * 100} %): client {share(phase.client_cpu)}, "
        f"gunicorn {share(phase.server_cpu)}, PostgreSQL {share(phase.database_cpu)}, "
        f"other processes {share(other)}, idle {share(max(0.0, cores * wall - busy))}"
    )
    requests = max(len(phase.tally.samples), 1)
    print(
        f"  CPU per request (less sensitive to other load): gunicorn "
        f"{ms(phase.server_cpu / requests)} ms, PostgreSQL {ms(phase.database_cpu / requests)} ms,"
        f" client {ms(phase.client_cpu / requests)} ms"
    )
    if other > 0.15 * wall:
        print("  WARNING: other processes took CPU during this phase; the figures are low")


def show_phase(phase: Phase) -> None:
    lat = phase.latencies
    t = phase.tally
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(t.statuses.items(), key=str))
    print(
        f"  {len(lat):,} requests in {phase.elapsed:.1f} s = {phase.requests_per_second:,.1f} "
        f"requests/s; latency p50 {ms(percentile(lat, 0.5))} ms, p95 "
        f"{ms(percentile(lat, 0.95))} ms, max {ms(lat[-1] if lat else math.nan)} ms"
    )
    print(
        f"  statuses: {statuses}; TCP connections opened: {t.connections:,} "
        f"(resent after a keep-alive close: {t.retries})"
    )
    show_cpu(phase)


def show_steps(phase: Phase) -> None:
    by_label: dict[str, list[float]] = defaultdict(list)
    for label, seconds in phase.tally.samples:
        by_label[label].append(seconds)
    total = sum(seconds for _label, seconds in phase.tally.samples) or 1
    rows = [["step", "requests", "p50 ms", "p95 ms", "max ms", "mean ms", "time share"]]
    for label, values in by_label.items():
        values.sort()
        rows.append(
            [
                label,
                f"{len(values):,}",
                ms(percentile(values, 0.5)),
                ms(percentile(values, 0.95)),
                ms(values[-1]),
                ms(sum(values) / len(values)),
                f"{sum(values) / total * 100:.1f} %",
            ]
        )
    for line in aligned(rows):
        print("    " + line)


def show_errors(phase: Phase) -> None:
    if not phase.tally.errors:
        return
    counts = Counter(re.sub(r"/t/[^/]+/", "/t/…/", e) for e in phase.tally.errors)
    print(
        f"  errors: {phase.tally.request_errors:,} failed requests, {phase.tally.failed:,} "
        "surveys that did not complete; most frequent first:"
    )
    for message, count in counts.most_common(8):
        print(f"    {count:,} × {message}")


# --- in-process profile ------------------------------------------------------------

# Inclusive time of a few functions per step: (label, path suffix, function name).
HOTSPOTS = [
    ("_visit", "surveys/backer_views.py", "_visit"),
    ("bom.load_catalog", "inventory/bom.py", "load_catalog"),
    ("steps_of", "surveys/backer_views.py", "steps_of"),
    ("pricing.quote", "surveys/pricing.py", "quote"),
    ("bom.explode", "inventory/bom.py", "explode"),
    ("templates", "django/template/backends/django.py", "render"),
    ("forms", "django/forms/forms.py", "full_clean"),
    ("session save", "django/contrib/sessions/backends/db.py", "save"),
    ("ORM SQL compiling", "django/db/models/sql/compiler.py", "as_sql"),
    ("SQL round trips", "django/db/backends/utils.py", "_execute"),
]


def profile(world: World, surveys: int) -> None:
    """K surveys through Django's test client in this process, three times: timed,
    with their queries captured, and under cProfile for the costs per step."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    invites = unused_invites(world)[: 3 * surveys]
    if len(invites) < 3 * surveys:
        raise SystemExit(f"only {len(invites)} unused backers left; seed more (--backers)")
    queries: dict[str, list[int]] = defaultdict(list)
    sql_time: dict[str, list[float]] = defaultdict(list)
    wall: dict[str, list[float]] = defaultdict(list)
    python: dict[str, list[float]] = defaultdict(list)  # this process's CPU: Django's side
    repeated: dict[str, Counter] = defaultdict(Counter)
    profiles: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
    number = re.compile(r"\b\d+\b|'[^']*'")
    # One client: its handler loads the middleware once, as a server worker does.
    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="en")

    def send(method, path, data):
        return client.get(path) if method == "GET" else client.post(path, data or {})

    def timed(label, method, path, data=None):
        started, cpu = time.perf_counter(), time.process_time()
        response = send(method, path, data)
        wall[label].append(time.perf_counter() - started)
        python[label].append(time.process_time() - cpu)
        return response

    def counted(label, method, path, data=None):
        with CaptureQueriesContext(connection) as captured:
            response = send(method, path, data)
        queries[label].append(len(captured.captured_queries))
        sql_time[label].append(sum(float(q["time"]) for q in captured.captured_queries))
        shapes = Counter(number.sub("?", q["sql"]) for q in captured.captured_queries)
        for shape, count in shapes.items():
            if count > 1:
                repeated[label][shape] = max(repeated[label][shape], count)
        return response

    def profiled(label, method, path, data=None):
        profiler = profiles[label]
        profiler.enable()
        try:
            return send(method, path, data)
        finally:
            profiler.disable()

    def walk(invite, call) -> None:
        root, plan = world.root, world.plan()
        client.cookies.clear()  # a new backer: a new browser
        r = call("link", "GET", f"{root}t/{invite_token(invite)}/")
        r = call("home", "GET", r["Location"])
        location = r["Location"]
        for n, (step, fields) in enumerate(plan):
            call(f"{step} GET", "GET", location)
            r = call(f"{step} POST", "POST", location, fields)
            following = f"{root}step/{plan[n + 1][0]}/" if n + 1 < len(plan) else f"{root}done/"
            if r.status_code != 302 or r["Location"] != following:
                raise SystemExit(f"{step} POST went to {r.status_code} {r.get('Location')}")
            location = r["Location"]
        call("done GET", "GET", location)

    client.get(world.root)  # load the middleware, compile templates: not measured
    for n, invite in enumerate(invites):
        walk(invite, (timed, counted, profiled)[n // surveys])

    def median(values):
        return sorted(values)[len(values) // 2]

    print(f"\nprofile: {surveys} surveys in this process (Django test client, no HTTP)")
    rows = [["step", "queries", "SQL ms", "Python CPU ms", "wall ms"]]
    columns = (queries, sql_time, python, wall)
    for label in wall:
        q, s, c, w = (median(column[label]) for column in columns)
        rows.append([label, str(q), ms(s), ms(c), ms(w)])
    q, s, c, w = (sum(median(v) for v in column.values()) for column in columns)
    rows.append(["whole survey", str(q), ms(s), ms(c), ms(w)])
    for line in aligned(rows):
        print("  " + line)
    print(
        "  (medians per request; SQL ms: Django's cursor wrapper, round trips included; "
        "Python CPU ms: this process, i.e. Django's side without PostgreSQL's)"
    )

    print(f"\ncosts per step: {surveys} more surveys under cProfile (inflates Python time)")
    for label, profiler in profiles.items():
        stats = pstats.Stats(profiler)
        n = len(wall[label])
        spent = []
        for name, suffix, function in HOTSPOTS:
            found = [
                v for (path, _line, func), v in stats.stats.items()
                if path.endswith(suffix) and func == function
            ]  # fmt: skip
            seconds = sum(v[3] for v in found)
            if seconds / n >= 0.0005:
                spent.append(f"{name} {ms(seconds / n)} ({sum(v[1] for v in found) / n:g}×)")
        own = sorted(
            (
                (v[2], f"{Path(path).name}:{line} {func}")
                for (path, line, func), v in stats.stats.items()
            ),
            reverse=True,
        )[:5]
        total = sum(v[2] for v in stats.stats.values())
        print(f"  {label}: {ms(total / n)} ms per request")
        print(f"    inclusive: {', '.join(spent) or '—'}")
        print("    most own time: " + "; ".join(f"{name} {ms(t / n)}" for t, name in own))
        for shape, count in repeated[label].most_common(3):
            print(f"    same query {count}×: {shape[:140]}")


def interrupted(signum, frame):
    raise KeyboardInterrupt


# --- main -----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backers", type=int, default=2000, help="backers to seed (≤ 50,000)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (≤ 256)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase (≤ 600)")
    # On 2 cores, 3–4 sync workers measured best for the survey; gthread (--threads > 1)
    # keeps connections alive and helps the bare view, but halves the survey's throughput.
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (>1: gthread)")
    parser.add_argument("--reuse", action="store_true", help="keep a seed of this size")
    parser.add_argument(
        "--warmup", type=int, default=None, help="unmeasured surveys first (default 2 per worker)"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="K", help="profile K surveys in-process instead"
    )
    args = parser.parse_args()
    if not 1 <= args.backers <= 50_000:
        parser.error("--backers must be between 1 and 50,000")
    if not 1 <= args.clients <= 256:
        parser.error("--clients must be between 1 and 256")
    if not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    if connection.vendor != "postgresql":
        raise SystemExit("survey_surge measures PostgreSQL: set DATABASE_URL=postgres://…")

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise SystemExit(f"{len(pending)} migrations not applied: run manage.py migrate first")
    world = seed(args.backers, reuse=args.reuse)
    if args.profile:
        print(f"static files: {collect_static()}")
        profile(world, args.profile)
        return
    warmup = args.workers * 2 if args.warmup is None else args.warmup
    invites = unused_invites(world)
    connection.close()  # the clients need no database (a new connection checks at the end)
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"static files: {collect_static()}")
    server = Server(workers=args.workers, threads=args.threads)
    print(
        f"setup: {os.cpu_count()} cores, Python {sys.version.split()[0]}, Django "
        f"{django.get_version()}, PostgreSQL {settings.DATABASES['default']['NAME']!r}\n"
        f"server: {server.describe()}, DEBUG off, CONN_MAX_AGE "
        f"{settings.DATABASES['default'].get('CONN_MAX_AGE')}; log {server.log_path}\n"
        f"clients: {args.clients} concurrent keep-alive connections (asyncio, one thread), "
        f"{args.seconds:g} s per phase, {len(invites):,} unused backers ({warmup} for the "
        "warm-up)"
    )
    busy_before = other_work()
    print(f"machine before the run: {busy_before * 100:.0f} % of all cores busy with other work")
    if busy_before > 0.1:
        print("  WARNING: the machine is not idle; the figures below will be low")
    failed = False
    # Ctrl-C (even when started in the background) and a kill stop gunicorn too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        server.start()
        server.wait_healthy()
        # Warm-up (not measured): every worker imports, connects and compiles templates.
        run_phase("warm-up bare", args.clients, 1.0, server, bare_client)
        warm_pool = Pool(invites[:warmup])
        warm_clients = min(args.workers * args.threads, max(warmup, 1))
        warm = run_phase("warm-up", warm_clients, 60.0, server, surveys_client, world, warm_pool)
        if warm.errors:
            show_errors(warm)
            raise RuntimeError(f"the warm-up failed; see {server.log_path}:\n{server.tail()}")

        bare = run_phase("bare", args.clients, args.seconds, server, bare_client)
        print(f"\nphase 1 — bare view GET {BARE_PATH}, {args.clients} clients:")
        show_phase(bare)
        show_errors(bare)

        pool = Pool(invites[warmup:])
        survey = run_phase(
            "survey", args.clients, args.seconds, server, surveys_client, world, pool
        )
    except KeyboardInterrupt:
        print("\ninterrupted: stopping gunicorn")
        server.stop()
        sys.exit(130)
    finally:
        server.stop()

    t = survey.tally
    completed = len(t.completed)
    print(
        f"\nphase 2 — backers completing the survey ({len(world.plan())} steps, "
        f"{2 + 2 * len(world.plan()) + 1} requests each), {args.clients} clients; no survey "
        f"starts after {args.seconds:g} s, those under way finish:"
    )
    print(
        f"  completed {completed:,} surveys in {survey.elapsed:.1f} s = "
        f"{completed / survey.elapsed:,.2f} submissions/s; did not complete: {t.failed}; "
        f"cut off by the hard limit: {t.cut_off}; backers used {pool.taken:,} of "
        f"{len(pool.invites):,}"
    )
    if pool.taken == len(pool.invites):
        print("  (the backers ran out before the time did: seed more with --backers)")
    show_phase(survey)
    show_steps(survey)
    show_errors(survey)
    saved = SurveyResponse.objects.filter(
        invite_id__in=t.completed, completed_at__isnull=False
    ).count()
    if saved != completed:
        print(f"  ERROR: {completed:,} surveys reached the done page, {saved:,} saved as completed")
        failed = True
    else:
        print(f"  database: all {saved:,} completed responses saved with completed_at")

    lat = survey.latencies
    p95 = percentile(lat, 0.95) * 1000
    ratio = survey.requests_per_second / bare.requests_per_second
    met = p95 <= GOAL_P95_MS and ratio >= GOAL_RATIO
    print(
        f"\nratio: survey {survey.requests_per_second:,.1f} requests/s ÷ bare "
        f"{bare.requests_per_second:,.1f} requests/s = {ratio * 100:.1f} %"
    )
    print(
        f"goal at {args.clients} clients (p95 ≤ {GOAL_P95_MS:.0f} ms, ratio ≥ "
        f"{GOAL_RATIO * 100:.0f} %): {'PASS' if met else 'FAIL'} — p95 {p95:,.1f} ms "
        f"({'met' if p95 <= GOAL_P95_MS else 'NOT met'}), ratio {ratio * 100:.1f} % "
        f"({'met' if ratio >= GOAL_RATIO else 'NOT met'})"
    )
    errors = bare.errors + survey.errors
    if errors or failed:
        print(f"FAILED RUN: {errors:,} errors; server log {server.log_path}")
        sys.exit(1)


if __name__ == "__main__":
    main()
