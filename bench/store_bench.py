"""Store benchmark: write throughput, record composition, record listing and search at scale.

Run with `.venv/bin/python -m bench.store_bench` (about two minutes); it rewrites the "store"
section of docs/benchmarks.md. `--quick` runs smaller sizes and prints without writing.

1. Contributions stored per second: `Store.append`, the full service path `Roundtable.act`, and
   raw `sqlite3` writing the same rows (same pragmas, one transaction per contribution); raw and
   store also with `synchronous = NORMAL`, the setting before `FULL`, to show what durability costs.
2. Composing the decision record of a deliberation with 1,000 contributions, rendering it,
   and replaying its events.
3. `Store.list_records` / `Store.search_records` latency with 10, 1,000 and 100,000 records,
   with the query plans SQLite chose.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._report import machine, write_section
from bot.config import Settings
from bot.engine.deliberation import Deliberation
from bot.engine.events import ContributionAdded, Event
from bot.engine.model import (
    Actor,
    ConsentChoice,
    Contribution,
    ContributionKind,
    DeliberationSettings,
    ObjectionStatus,
    Role,
    Vote,
)
from bot.engine.record import compose_record, record_digest, record_json, render_markdown
from bot.engine.templates import BUILTIN_TEMPLATES
from bot.service import Roundtable
from bot.store import Store
from bot.store.chain import GENESIS, event_hash, event_row
from bot.store.signing import Signer
from bot.store.store import _run, migrations

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
GUILD = 111_111_111_111
OTHER_GUILD = 222_222_222_222
OTHER_GUILD_RECORDS = 5

# --------------------------------------------------------------------------- text


class Words:
    """Deterministic, roughly Zipf-distributed prose, with topic words that each appear rarely."""

    COMMON = (
        "the we to and of a that is in it should for this be not on with as our have are but if more can would"
        " they will at so by from what all one about people time need think make some members group proposal"
        " meeting budget change idea better agree concern support because could also just other new only work"
        " year way plan first than keep rule room money event space next month cost week community vote decision"
    )

    def __init__(self, seed: int = 7, rare: int = 4000, topics: int = 200, stream: int = 400_000) -> None:
        self.rng = random.Random(seed)
        syllables = ["ka", "lo", "ri", "ten", "mar", "vo", "sel", "an", "dre", "pu", "gis", "tor", "ne", "bal"]
        made: set[str] = set()
        while len(made) < rare + topics:
            made.add("".join(self.rng.choice(syllables) for _ in range(self.rng.randint(2, 4))))
        pool = sorted(made)
        self.rng.shuffle(pool)
        self.topics = pool[:topics]
        vocabulary = self.COMMON.split() + pool[topics:]
        cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(vocabulary))))
        # Texts are windows on one long Zipf-distributed stream: as varied, and far cheaper to make.
        self.stream = self.rng.choices(vocabulary, cum_weights=cumulative, k=stream)

    def text(self, words: int, topic: str | None = None) -> str:
        start = self.rng.randrange(len(self.stream) - words)
        chosen = self.stream[start : start + words]
        if topic is not None:
            chosen[self.rng.randrange(words)] = topic
        sentences, i = [], 0
        while i < len(chosen):
            n = self.rng.randint(8, 18)
            part = chosen[i : i + n]
            sentences.append(" ".join(part).capitalize() + ".")
            i += n
        return " ".join(sentences)


class Clock:
    """A clock for the service that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def ticks(start: datetime = T0) -> Iterator[datetime]:
    at = start
    while True:
        at += timedelta(seconds=1)
        yield at


# --------------------------------------------------------------------------- 1. write throughput

PRAGMAS = ("PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON")
DELIBERATIONS = 20  # contributions are spread over this many deliberations, one stream each

EVENT_SQL = (
    "INSERT INTO events (guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload,"
    " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_SQL = (
    "UPDATE deliberations SET status = ?, round_kind = ?, deadline_at = ?, closed_at = ? WHERE id = ? AND guild_id = ?"
)
CONTRIBUTION_SQL = (
    "INSERT INTO contributions (deliberation_id, id, guild_id, kind, author, author_kind, stance,"
    " text, ai_meta, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (deliberation_id, id) DO UPDATE SET stance = excluded.stance,"
    " text = excluded.text, updated_at = excluded.updated_at"
)


@dataclass
class Workload:
    """The positions to store: (deliberation index, member, stance, text), in order."""

    positions: list[tuple[int, int, str, str]]

    @classmethod
    def make(cls, count: int, words: Words) -> Workload:
        per = count // DELIBERATIONS
        positions = [(d, 1000 + m, words.text(6), words.text(70)) for d in range(DELIBERATIONS) for m in range(per)]
        return cls(positions)


def opening_events(question: str, at: datetime) -> list[Event]:
    return Deliberation.start(
        question=question,
        template="consent",
        rounds=BUILTIN_TEMPLATES["consent"],
        settings=DeliberationSettings(),
        moderator=Actor.human(1, "Moderator"),
        ai_participants=[],
        at=at,
    )


def position_event(member: int, contribution_id: int, stance: str, text: str, at: datetime) -> Event:
    added = ContributionAdded(contribution_id, ContributionKind.POSITION, text, 0, stance=stance)
    return Event(Actor.human(member, f"member {member}"), at, added)


def raw_sqlite(path: Path, work: Workload, synchronous: str = "FULL") -> float:
    """The same rows through plain sqlite3; returns contributions per second."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    for _, _, sql in migrations():
        conn.executescript(sql)
    heads: list[tuple[int, str]] = []
    ids: list[int] = []
    deadline = (T0 + timedelta(days=1)).isoformat()
    conn.execute("BEGIN")
    for d in range(DELIBERATIONS):
        cur = conn.execute(
            "INSERT INTO deliberations (guild_id, question, template, status, round_kind, deadline_at, created_at)"
            " VALUES (?, ?, 'consent', 'open', 'positions', ?, ?)",
            (GUILD, f"Question {d}?", deadline, T0.isoformat()),
        )
        assert cur.lastrowid is not None
        ids.append(cur.lastrowid)
        prev, seq = GENESIS, 0
        for event in opening_events(f"Question {d}?", T0):
            seq += 1
            kind, actor, actor_name, at, payload = event_row(event)
            digest = event_hash(prev, f"d:{cur.lastrowid}", seq, kind, actor, actor_name, at, payload)
            conn.execute(
                EVENT_SQL,
                (GUILD, f"d:{cur.lastrowid}", cur.lastrowid, seq, kind, actor, actor_name, at, payload, prev, digest),
            )
            prev = digest
        heads.append((seq, prev))
    conn.execute("COMMIT")
    next_id = [1] * DELIBERATIONS
    clock = ticks()
    start = time.perf_counter()
    for d, member, stance, text in work.positions:
        deliberation_id, stream = ids[d], f"d:{ids[d]}"
        at = next(clock)
        event = position_event(member, next_id[d], stance, text, at)
        seq, prev = heads[d]
        seq += 1
        kind, actor, actor_name, at_text, payload = event_row(event)
        digest = event_hash(prev, stream, seq, kind, actor, actor_name, at_text, payload)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            EVENT_SQL,
            (GUILD, stream, deliberation_id, seq, kind, actor, actor_name, at_text, payload, prev, digest),
        )
        conn.execute(UPDATE_SQL, ("open", "positions", deadline, None, deliberation_id, GUILD))
        conn.execute(
            CONTRIBUTION_SQL,
            (deliberation_id, next_id[d], GUILD, "position", actor, "human", stance, text, None, at_text, None),
        )
        conn.execute("COMMIT")
        heads[d] = (seq, digest)
        next_id[d] += 1
    elapsed = time.perf_counter() - start
    conn.close()
    return len(work.positions) / elapsed


async def store_append(path: Path, work: Workload, synchronous: str | None = None) -> float:
    """`Store.append` with one position event and its contribution row per call, signing each head.

    `synchronous` overrides the store's own setting (FULL), to measure what it costs.
    """
    store = await Store.open(path, signer=Signer.generate())
    if synchronous is not None:
        await _run(store._conn, f"PRAGMA synchronous = {synchronous}")
    ids = []
    deadline = T0 + timedelta(days=1)
    for d in range(DELIBERATIONS):
        ids.append(
            await store.create_deliberation(
                GUILD,
                None,
                opening_events(f"Question {d}?", T0),
                question=f"Question {d}?",
                template="consent",
                round_kind="positions",
                deadline_at=deadline,
            )
        )
    next_id = [1] * DELIBERATIONS
    clock = ticks()
    start = time.perf_counter()
    for d, member, stance, text in work.positions:
        at = next(clock)
        event = position_event(member, next_id[d], stance, text, at)
        contribution = Contribution(next_id[d], ContributionKind.POSITION, event.actor.key, 0, at, stance, text)
        await store.append(
            GUILD,
            ids[d],
            [event],
            status="open",
            round_kind="positions",
            deadline_at=deadline,
            contributions=[contribution],
        )
        next_id[d] += 1
    elapsed = time.perf_counter() - start
    await store.close()
    return len(work.positions) / elapsed


async def service_act(path: Path, work: Workload) -> float:
    """`Roundtable.act` stating positions: engine decide + apply + `Store.append`.

    Members join first (not timed), so each timed action writes exactly what the raw baseline
    writes: one event, the deliberation's row, one contribution row.
    """
    settings = Settings.load(
        path.parent / "no-config.toml", read_env=False, database={"path": path}, ai={"enabled": False}
    )
    service = await Roundtable.open(settings, Clock())
    moderator = Actor.human(1, "Moderator")
    ids = []
    for d in range(DELIBERATIONS):
        change = await service.start(GUILD, None, moderator, f"Question {d}?", template="consent")
        ids.append(change.deliberation.id)
    for d, member, _, _ in work.positions:
        actor = Actor.human(member, f"member {member}")
        await service.act(GUILD, ids[d], lambda dl, at, a=actor: dl.join(a, Role.PARTICIPANT, at))

    start = time.perf_counter()
    for d, member, stance, text in work.positions:
        actor = Actor.human(member, f"member {member}")
        change = await service.act(
            GUILD, ids[d], lambda dl, at, a=actor, s=stance, t=text: dl.state_position(a, s, t, at)
        )
    elapsed = time.perf_counter() - start
    assert len(change.events) == 1, "each timed action should write exactly one event"
    await service.close()
    return len(work.positions) / elapsed


@dataclass
class Throughput:
    raw: list[float] = field(default_factory=list)
    store: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    raw_normal: list[float] = field(default_factory=list)
    store_normal: list[float] = field(default_factory=list)
    hop_us: list[float] = field(default_factory=list)


async def aiosqlite_round_trip(path: Path, count: int = 4000) -> float:
    """Median microseconds of one empty call on aiosqlite's thread: the floor under every awaited append."""
    store = await Store.open(path)
    conn = store._conn
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await conn._execute(lambda: None)
        samples.append(time.perf_counter() - start)
    await store.close()
    return statistics.median(samples) * 1e6


def measure_throughput(count: int, rounds: int, tmp: Path) -> Throughput:
    work = Workload.make(count, Words(seed=1))
    result = Throughput()
    for i in range(rounds):
        # Interleaved, each on a new file, so that drift in the machine hits all three alike.
        gc.collect()
        result.raw.append(raw_sqlite(tmp / f"raw-{i}.sqlite3", work))
        gc.collect()
        result.store.append(asyncio.run(store_append(tmp / f"store-{i}.sqlite3", work)))
        gc.collect()
        result.service.append(asyncio.run(service_act(tmp / f"service-{i}.sqlite3", work)))
        gc.collect()
        result.raw_normal.append(raw_sqlite(tmp / f"raw-normal-{i}.sqlite3", work, "NORMAL"))
        gc.collect()
        result.store_normal.append(asyncio.run(store_append(tmp / f"store-normal-{i}.sqlite3", work, "NORMAL")))
        result.hop_us.append(asyncio.run(aiosqlite_round_trip(tmp / f"hop-{i}.sqlite3")))
    return result


# --------------------------------------------------------------------------- 2. record of 1,000 contributions


def big_deliberation(contributions: int = 1000) -> list[Event]:
    """A consent deliberation whose record quotes `contributions` contributions (and much else)."""
    words = Words(seed=2)
    rng = random.Random(3)
    clock = ticks()
    moderator = Actor.human(1, "Moderator")
    events = opening_events("Should the community garden move to the old school yard next spring?", T0)
    d = Deliberation.from_events(1, GUILD, events)

    def act(decide: Callable[[Deliberation, datetime], list[Event]]) -> None:
        new = decide(d, next(clock))
        d.apply_all(new)
        events.extend(new)

    members = [Actor.human(1000 + i, f"member {i}") for i in range(contributions // 2)]
    for m in members:  # positions: half the contributions
        act(lambda dl, at, m=m: dl.state_position(m, words.text(5), words.text(rng.randint(40, 120)), at))
    act(lambda dl, at: dl.advance(moderator, at, force=True))
    positions = [c.id for c in d.positions()]
    for m in members:  # members vote on others' positions, never their own
        others = [c.id for c in d.positions() if c.author != m.key]
        for target in rng.sample(others, 4):
            act(lambda dl, at, m=m, t=target: dl.vote(m, t, rng.choice(list(Vote)), at))
    for m in members[:20]:
        act(lambda dl, at, m=m: dl.object(m, words.text(15), words.text(40), at, target=rng.choice(positions)))
    objections = list(d.objections)
    responses = (contributions * 3) // 10
    for i in range(responses):
        m = members[i % len(members)]
        act(lambda dl, at, m=m: dl.respond(m, words.text(rng.randint(20, 80)), rng.choice(positions + objections), at))
    for o in objections[:10]:
        why = "Answered in the draft."
        act(lambda dl, at, o=o, why=why: dl.move_objection(moderator, o, ObjectionStatus.ADDRESSED, at, reason=why))
    act(lambda dl, at: dl.advance(moderator, at, force=True))
    drafts_wanted = contributions // 20
    for i in range(drafts_wanted):
        m = members[i]
        act(lambda dl, at, m=m: dl.draft(m, words.text(rng.randint(80, 200)), at, answers=objections[:3]))
    drafts = [c.id for c in d.drafts()]
    critiques = contributions - len(d.contributions)
    for i in range(critiques):
        m = members[-1 - (i % len(members))]
        act(lambda dl, at, m=m: dl.critique(m, words.text(rng.randint(20, 60)), rng.choice(drafts), at))
    act(lambda dl, at: dl.adopt(moderator, drafts[0], at, amended_text=words.text(150)))
    act(lambda dl, at: dl.advance(moderator, at, force=True))
    for i, m in enumerate(members):
        if i % 50 == 7:
            act(lambda dl, at, m=m: dl.give_consent(m, ConsentChoice.BLOCK, at, reason=words.text(30)))
        elif i % 5 == 1:
            act(lambda dl, at, m=m: dl.give_consent(m, ConsentChoice.RESERVATIONS, at, reason=words.text(20)))
        else:
            act(lambda dl, at, m=m: dl.give_consent(m, ConsentChoice.ENDORSE, at))
    act(lambda dl, at: dl.advance(moderator, at, force=True))
    assert len(d.contributions) == contributions, len(d.contributions)
    return events


@dataclass
class Timing:
    median: float
    p95: float
    runs: int


def timed(fn: Callable[[], Any], *, runs: int = 200, budget: float = 3.0) -> Timing:
    """Median and p95 wall time in seconds of `fn`, up to `runs` calls or `budget` seconds."""
    fn()  # warm caches
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < runs and (len(samples) < 5 or time.perf_counter() < deadline):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return _timing(samples)


def _timing(samples: list[float]) -> Timing:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return Timing(statistics.median(ordered), p95, len(ordered))


@dataclass
class Composition:
    events: int
    contributions: int
    markdown_chars: int
    json_chars: int
    compose: Timing
    render: Timing
    replay: Timing


def measure_composition(contributions: int) -> Composition:
    events = big_deliberation(contributions)
    d = Deliberation.from_events(1, GUILD, events)
    sealed = compose_record(d).sealed("f" * 64)
    return Composition(
        events=len(events),
        contributions=len(d.contributions),
        markdown_chars=len(render_markdown(sealed)),
        json_chars=len(record_json(sealed)),
        compose=timed(lambda: compose_record(d), runs=50),
        # A fresh copy each run: the digest the Markdown ends with is cached on a record.
        render=timed(lambda: render_markdown(replace(sealed)), runs=50),
        replay=timed(lambda: Deliberation.from_events(1, GUILD, events), runs=30),
    )


# --------------------------------------------------------------------------- 3. listing and searching records


class RecordFactory:
    """Realistic sealed records (a handful of members, positions, an objection), cheaply varied.

    One deliberation is run through the engine for the record's shape; each row then gets its own
    question, texts, outcome and times, its own markdown and JSON.
    """

    def __init__(self, words: Words) -> None:
        self.words = words
        moderator = Actor.human(1, "Moderator")
        clock = ticks()
        events = opening_events("Template question?", T0)
        d = Deliberation.from_events(1, GUILD, events)

        def act(decide: Callable[[Deliberation, datetime], list[Event]]) -> None:
            new = decide(d, next(clock))
            d.apply_all(new)
            events.extend(new)

        members = [Actor.human(100 + i, f"member {i}") for i in range(5)]
        for m in members:
            act(lambda dl, at, m=m: dl.state_position(m, "stance", "text", at))
        act(lambda dl, at: dl.advance(moderator, at, force=True))
        act(lambda dl, at: dl.object(members[0], "what", "why", at))
        act(lambda dl, at: dl.advance(moderator, at, force=True))
        act(lambda dl, at: dl.propose(moderator, "proposal", at))
        act(lambda dl, at: dl.advance(moderator, at, force=True))
        for m in members:
            act(lambda dl, at, m=m: dl.give_consent(m, ConsentChoice.ENDORSE, at))
        act(lambda dl, at: dl.advance(moderator, at, force=True))
        self.template = compose_record(d).to_dict()

    def make(self, deliberation_id: int, guild_id: int, topic: str, sealed_at: datetime) -> tuple[Any, ...]:
        w = self.words
        record = json.loads(json.dumps(self.template))
        record.update(deliberation_id=deliberation_id, guild_id=guild_id, question=w.text(12, topic).rstrip(".") + "?")
        record["opened_at"] = (sealed_at - timedelta(days=3)).isoformat()
        record["closed_at"] = sealed_at.isoformat()
        record["proposal"]["text"] = w.text(45, topic)
        for p in record["positions"]:
            p["stance"] = w.text(5)
            p["text"] = w.text(40)
        for o in record["objections"]:
            o["what"], o["why"] = w.text(10), w.text(30)
        record["standing_objections"] = [o for o in record["objections"] if o["status"] == "standing"]
        head = f"{deliberation_id:064x}"
        sealed = {**record, "chain_head": head}
        markdown = render_markdown(sealed)
        return (
            deliberation_id,
            guild_id,
            record["question"],
            record["outcome"]["kind"],
            record["closed_at"],
            head,
            record_digest(record),
            record_json(sealed),
            markdown,
        )


class RecordsDb:
    """A store file grown in steps by inserting rows directly (far faster than sealing through the engine)."""

    def __init__(self, path: Path, factory: RecordFactory) -> None:
        self.path = path
        self.factory = factory
        self.count = {GUILD: 0, OTHER_GUILD: 0}
        self.next_id = 1
        self.sealed_at = T0
        self.topic_counts: dict[str, int] = {}

    def grow(self, guild_id: int, n: int) -> float:
        """Add `n` records to a guild; returns seconds taken."""
        start = time.perf_counter()
        conn = sqlite3.connect(self.path, isolation_level=None)
        for pragma in PRAGMAS:
            conn.execute(pragma)
        topics = self.factory.words.topics
        conn.execute("BEGIN")
        for _ in range(n):
            i = self.next_id
            self.next_id += 1
            self.sealed_at += timedelta(minutes=7)
            topic = topics[i % len(topics)]
            self.topic_counts[topic] = self.topic_counts.get(topic, 0) + 1
            row = self.factory.make(i, guild_id, topic, self.sealed_at)
            conn.execute(
                "INSERT INTO deliberations (id, guild_id, question, template, status, round_kind, created_at,"
                " closed_at) VALUES (?, ?, ?, 'consent', 'closed', NULL, ?, ?)",
                (i, guild_id, row[2], (self.sealed_at - timedelta(days=3)).isoformat(), row[4]),
            )
            conn.execute(
                "INSERT INTO decision_records (deliberation_id, guild_id, question, outcome, sealed_at, chain_head,"
                " digest, record_json, markdown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            conn.execute(
                "INSERT INTO decision_records_fts (rowid, question, markdown, guild_id) VALUES (?, ?, ?, ?)",
                (i, row[2], row[8], guild_id),
            )
        conn.execute("COMMIT")
        conn.close()
        self.count[guild_id] += n
        return time.perf_counter() - start


@dataclass
class QueryResult:
    label: str
    timing: Timing
    rows: int


@dataclass
class Scale:
    total: int
    topic_matches: int
    build_seconds: float
    file_mb: float
    queries: list[QueryResult]
    plans: dict[str, list[str]]


async def measure_queries(db: RecordsDb) -> tuple[list[QueryResult], dict[str, list[str]]]:
    store = await Store.open(db.path)
    words = db.factory.words
    # A topic word appears in about 1 record in 200; "proposal" appears in every record.
    topic = words.topics[3]
    other_topic = words.topics[1]  # in the small guild's first record, and in 1 in 200 of the busy guild's
    busy_mid = OTHER_GUILD_RECORDS + max(1, db.count[GUILD] // 2)  # a busy guild's record half-way
    cases: list[tuple[str, Callable[[], Awaitable[list[Any]]]]] = [
        ("list, busy guild, newest 20", lambda: store.list_records(GUILD)),
        ("list, busy guild, page from the middle", lambda: store.list_records(GUILD, before=busy_mid)),
        ("list, small guild", lambda: store.list_records(OTHER_GUILD)),
        ("search, busy guild, topic word", lambda: store.search_records(GUILD, topic)),
        ("search, busy guild, two words", lambda: store.search_records(GUILD, f"{topic} proposal")),
        ("search, small guild, topic word", lambda: store.search_records(OTHER_GUILD, other_topic)),
        ("search, busy guild, word in every record", lambda: store.search_records(GUILD, "proposal")),
        ("search, small guild, word in every record", lambda: store.search_records(OTHER_GUILD, "proposal")),
    ]
    results = []
    for label, query in cases:
        rows = await query()
        samples = []
        deadline = time.perf_counter() + 1.5
        while len(samples) < 3000 and (len(samples) < 15 or time.perf_counter() < deadline):
            start = time.perf_counter()
            await query()
            samples.append(time.perf_counter() - start)
        results.append(QueryResult(label, _timing(samples), len(rows)))
    # Scoping: the small guild never sees the busy guild's records.
    for summary in await store.search_records(OTHER_GUILD, "proposal", limit=100):
        assert (await store.record(OTHER_GUILD, summary.deliberation_id)).guild_id == OTHER_GUILD
    plans = await query_plans(store, topic, busy_mid)
    await store.close()
    return results, plans


async def query_plans(store: Store, topic: str, before: int) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN for the exact SQL the store ran, caught with a trace callback."""
    seen: list[str] = []
    conn = store._conn  # the benchmark looks inside, to explain exactly what ran
    await conn.set_trace_callback(seen.append)
    await store.list_records(GUILD)
    await store.list_records(GUILD, before=before)
    await store.search_records(GUILD, topic)
    await conn.set_trace_callback(None)
    plans: dict[str, list[str]] = {}
    raw = sqlite3.connect(store.path)
    try:
        for sql in seen:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            rows = raw.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            plans[sql] = [str(r[3]) for r in rows]
    finally:
        raw.close()
    return plans


def measure_scales(sizes: list[int], tmp: Path) -> list[Scale]:
    path = tmp / "records.sqlite3"
    asyncio.run(_create(path))
    db = RecordsDb(path, RecordFactory(Words(seed=5)))
    scales = []
    for total in sizes:
        build = 0.0
        if db.count[OTHER_GUILD] == 0:
            build += db.grow(OTHER_GUILD, OTHER_GUILD_RECORDS)
        build += db.grow(GUILD, total - OTHER_GUILD_RECORDS - db.count[GUILD])
        queries, plans = asyncio.run(measure_queries(db))
        mb = sum(p.stat().st_size for p in tmp.glob("records.sqlite3*")) / 1e6
        topic_matches = db.topic_counts.get(db.factory.words.topics[3], 0)
        scales.append(Scale(total, topic_matches, build, mb, queries, plans))
        print(f"  {total:>7,} records: built in {build:.1f} s, {mb:.0f} MB", file=sys.stderr)
    return scales


async def _create(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


# --------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def report(tp: Throughput, count: int, comp: Composition, scales: list[Scale], seconds: float) -> str:
    raw, store, service = (statistics.median(x) for x in (tp.raw, tp.store, tp.service))
    raw_normal, store_normal = statistics.median(tp.raw_normal), statistics.median(tp.store_normal)
    lines = [
        "## Store",
        "",
        "Rerun: `.venv/bin/python -m bench.store_bench` (about "
        f"{max(1, round(seconds / 60))} minute(s); rewrites this section).",
        "",
        f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}.",
        "",
        "### Contributions stored per second",
        "",
        f"{count:,} positions over {DELIBERATIONS} deliberations, one transaction each (WAL,"
        " synchronous=FULL, foreign keys); each writes one hash-chained event, updates the"
        " deliberation's row and writes one contribution row; the store also records the chain's"
        " head with its Ed25519 signature (migration 0004). Median of"
        f" {len(tp.raw)} interleaved runs, each on a new file.",
        "",
        "| Path | Contributions/s | Share of raw |",
        "|---|---:|---:|",
        f"| raw `sqlite3`, same rows and hashes | {raw:,.0f} | 100% |",
        f"| `Store.append` | {store:,.0f} | {store / raw:.0%} |",
        f"| `Roundtable.act` (engine decide + apply + store) | {service:,.0f} | {service / raw:.0%} |",
        f"| raw `sqlite3`, synchronous=NORMAL (before) | {raw_normal:,.0f} | {raw_normal / raw:.0%} |",
        f"| `Store.append`, synchronous=NORMAL (before) | {store_normal:,.0f} | {store_normal / raw:.0%} |",
        "",
        f"Runs (raw / store / service): {', '.join(f'{x:,.0f}' for x in tp.raw)} /"
        f" {', '.join(f'{x:,.0f}' for x in tp.store)} / {', '.join(f'{x:,.0f}' for x in tp.service)};"
        f" with NORMAL (raw / store): {', '.join(f'{x:,.0f}' for x in tp.raw_normal)} /"
        f" {', '.join(f'{x:,.0f}' for x in tp.store_normal)}.",
        "",
        "What durability costs: with `synchronous = FULL` every commit waits for the WAL to reach the disk"
        " (an fsync), so an acknowledged action survives a power loss; with NORMAL, WAL commits were"
        " synced only at checkpoints and the last ones could be lost with the OS. `Store.append` goes from"
        f" {store_normal:,.0f}/s to {store:,.0f}/s ({store / store_normal - 1:+.0%}); one action is"
        f" {1e3 / store:.2f} ms instead of {1e3 / store_normal:.2f} ms, far below a Discord round trip."
        " Batching concurrent writes into one transaction (one fsync for several actions) is the way to win"
        " the throughput back if a guild ever needs it; one write at a time is what the bot does now.",
        "",
        f"Where the difference goes: an append is one round trip to aiosqlite's worker thread (everything in"
        f" one call), and an empty round trip alone takes {statistics.median(tp.hop_us):,.0f} µs here (median),"
        f" against {1e6 / raw:,.0f} µs for a whole raw transaction, most of it the disk's sync: with FULL, raw"
        " and store wait for the same fsync, so the store's share of raw says little; the NORMAL rows show"
        " the store's own overhead. The figures follow the disk and the other work on the machine (the runs"
        " above spread by up to 3x); on the same machine kind at commit d652c38, unloaded, NORMAL measured raw"
        " 14,283/s, store 10,204/s.",
        "",
        "### Record of a deliberation with 1,000 contributions",
        "",
        f"{comp.contributions:,} contributions (positions, responses, drafts, critiques) in {comp.events:,}"
        f" events, with votes, objections and consent; the record is {comp.json_chars:,} characters of"
        f" JSON and {comp.markdown_chars:,} of markdown.",
        "",
        "| Step | Median ms | p95 ms |",
        "|---|---:|---:|",
        f"| `compose_record` | {ms(comp.compose.median)} | {ms(comp.compose.p95)} |",
        f"| `render_markdown` | {ms(comp.render.median)} | {ms(comp.render.p95)} |",
        f"| `Deliberation.from_events` (replay all events) | {ms(comp.replay.median)} | {ms(comp.replay.p95)} |",
        "",
        "### Listing and searching decision records",
        "",
        f"One busy guild holds all records but {OTHER_GUILD_RECORDS}, which belong to a second, small guild."
        " Records are inserted directly with `sqlite3` (realistic shape: 5 members, positions, an"
        " objection; each with its own text), then queried through `Store`. Latency in ms, median / p95.",
        "",
        "| Query | " + " | ".join(f"{s.total:,} records" for s in scales) + " | Growth |",
        "|---|" + "---:|" * (len(scales) + 1),
    ]
    for i, q in enumerate(scales[0].queries):
        cells = [f"{ms(s.queries[i].timing.median)} / {ms(s.queries[i].timing.p95)}" for s in scales]
        lines.append(f"| {q.label} | " + " | ".join(cells) + f" | {_growth(scales, i):.1f}x |")
    lines.append(
        "| records matching the topic word (busy guild) | "
        + " | ".join(f"{s.topic_matches:,}" for s in scales)
        + " | |"
    )
    lines.append(
        "| database size (MB), build time (s) | "
        + " | ".join(f"{s.file_mb:,.0f}, {s.build_seconds:.1f}" for s in scales)
        + " | |"
    )
    lines += [
        "",
        f"Growth is the median at {scales[-1].total:,} records over the median at {scales[0].total:,}. Searches"
        " match the guild inside the full-text index (migration 0002), so a guild's search never touches"
        " another guild's records; paging is keyset on the listing's own order.",
        "",
        "For comparison, before migration 0002 and keyset paging (measured once at commit bc8f8e3 on this"
        " machine, 100,000 records): small guild, word in every record 230 ms, topic word 1.2 ms; busy guild,"
        " topic word 0.5 ms, two words 2.8 ms, word in every record 78 ms; list page from the middle 3.5 ms."
        " Scoping in the index costs the busiest guild more (each search also weighs the guild's own token:"
        " one pass over that guild's index entries, about 3 ms at 100,000) and spares every other guild the"
        " busy guild's matches.",
    ]
    lines += ["", f"Query plans at {scales[-1].total:,} records (`EXPLAIN QUERY PLAN` of the SQL the store ran):", ""]
    for sql, plan in scales[-1].plans.items():
        lines += ["```", sql, *(f"  -> {step}" for step in plan), "```", ""]
    lines += ["### Verdicts", "", *verdicts(store / raw, service / raw, scales)]
    return "\n".join(lines)


def verdicts(store_share: float, service_share: float, scales: list[Scale]) -> list[str]:
    out = [
        f"- Write throughput (goal: store ≥ half of raw): {'met' if store_share >= 0.5 else 'MISSED'} —"
        f" `Store.append` at {store_share:.0%} of raw, the service path at {service_share:.0%}.",
    ]
    first, last = scales[0], scales[-1]
    growth = [_growth(scales, i) for i in range(len(first.queries))]
    is_flat = [g <= 3.0 or last.queries[i].timing.median < 0.001 for i, g in enumerate(growth)]
    flat = [first.queries[i].label for i, ok in enumerate(is_flat) if ok]
    steep = [
        f"{first.queries[i].label} ({growth[i]:.0f}x, {ms(last.queries[i].timing.median)} ms)"
        for i, ok in enumerate(is_flat)
        if not ok
    ]
    scans = [step for plan in last.plans.values() for step in plan if step.startswith("SCAN") and "VIRTUAL" not in step]
    out.append(
        f"- Latency flat from {first.total:,} to {last.total:,} records (goal; flat: the median grows at most"
        " 3x, or stays under 1 ms):"
        f" {'met' if not steep else 'partly met'} — {len(flat)} of {len(growth)} queries flat"
        + (f"; not flat: {'; '.join(steep)}" if steep else "")
        + (". No full table scans in the plans." if not scans else f". Full scans: {'; '.join(scans)}.")
    )
    if steep:
        out.append(
            "  A ranked search scores every record of the guild that matches all its words (bm25 in"
            " SQLite's FTS5, which also counts each word's matches for its weight), so its cost follows the"
            " number of matches in the guild, not the size of the database."
        )
    return out


def _growth(scales: list[Scale], i: int) -> float:
    return scales[-1].queries[i].timing.median / max(scales[0].queries[i].timing.median, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; print instead of writing the report")
    args = parser.parse_args()
    count, rounds, sizes, contributions = (
        (400, 1, [10, 1000, 5000], 200) if args.quick else (4000, 3, [10, 1000, 100_000], 1000)
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="store-bench-") as name:
        tmp = Path(name)
        print("write throughput ...", file=sys.stderr)
        tp = measure_throughput(count, rounds, tmp)
        print("record composition ...", file=sys.stderr)
        comp = measure_composition(contributions)
        print("records: list and search ...", file=sys.stderr)
        scales = measure_scales(sizes, tmp)
    body = report(tp, count, comp, scales, time.perf_counter() - started)
    if args.quick:
        print(body)
    else:
        write_section("store", body)
        print(body)


if __name__ == "__main__":
    main()
