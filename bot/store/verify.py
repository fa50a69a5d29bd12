"""Offline verification: prove the whole database from its events.

What `verify` checks, and why each is enough:

- the schema (tables, indexes, triggers) is exactly what the migrations make, and
  `user_version` is the latest: a dropped append-only trigger or an extra trigger shows;
- every chain 'd:N', 'g:G', 'l:G' links from the genesis hash with consecutive `seq`, each
  event's hash covering its stored fields; it ends at the head recorded in `stream_heads`, and
  that head's Ed25519 signature holds (against `--public-key`, else the keys the file lists);
- the two event columns not in the hash are bound to hashed data: `deliberation_id` must be the
  N of its stream 'd:N'; a guild's streams carry its id; a deliberation's guild must be the
  guild whose ledger 'l:G' lists it (ledger payloads are hashed and its head is signed);
- each guild's ledger lists every deliberation's first event and its sealing or cancelling
  event, and every settings change: a deliberation deleted whole, a chain cut back past its
  seal, or a settings chain removed no longer matches it;
- every deliberation's events replay through the engine's rules (bot/engine/replay.py), and the
  rows queries read are rebuilt from them in memory and compared column by column:
  `deliberations`, `contributions`, `guild_settings`, `decision_records` (against the record
  its events compose and the digest its sealing event holds), `posts` (their guild and that
  each names something of its deliberation; where Discord put it is Discord's to know), and
  the full-text index (SQLite's own integrity check against its content, then row by row);
- `--anchors`: chain heads posted in Discord (or kept anywhere else) are still in the chains,
  which catches a file rolled back to an earlier, consistent state.

Not derivable from events and so not checked: a deliberation's `channel_id`/`thread_id` (where
Discord made its thread) and `ai_due_at` (a scheduling hint the engine re-checks when it fires).
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.engine.deliberation import Deliberation
from bot.engine.events import DeliberationSealed, Event, EventKind, GuildConfigured, MalformedEvent, owed_posts
from bot.engine.model import DeliberationStatus
from bot.engine.record import RECORD_FORMAT, compose_record, record_digest, render_markdown
from bot.engine.replay import InvalidEvent, replay
from bot.store.chain import GENESIS, event_from_row, event_hash
from bot.store.schema import SIGNED_SINCE, migrations, split_sql
from bot.store.signing import head_message, signature_valid

STREAM = re.compile(r"^([dgl]):([0-9]+)$")
ANCHOR = re.compile(r"roundtable-anchor\s+(\d+)\s+([dgl]:\d+)\s+(\d+)\s+([0-9a-f]{64})")
LEDGER_KINDS = frozenset({"ledger.opened", "ledger.closed", "ledger.configured"})
TERMINAL_KINDS = frozenset({EventKind.SEALED, EventKind.CANCELLED})
MAX_PROBLEMS = 1000
_EVENT_COLUMNS = "id, guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload, prev_hash, hash"


class NotARoundtableDatabase(Exception):
    """The file is not SQLite, or SQLite without Roundtable's tables."""


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    events: int = 0
    streams: int = 0
    records: int = 0
    signed_heads: int = 0
    anchors: int = 0
    # When the outbox began (its first row's time, read once): events from then on owe rows.
    outbox_since: tuple[str | None] | None = field(default=None, repr=False)

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append(f"... more problems not listed (the first {MAX_PROBLEMS} are above)")


@dataclass
class _Stream:
    """What the cross-checks need of a chain once it has been read."""

    guild_id: int
    intact: bool
    last: tuple[int, str]  # seq, hash
    first_hash: str = ""
    terminal: tuple[str, int, str] | None = None  # kind, seq, hash
    hashes: dict[int, str] = field(default_factory=dict)  # settings chains only (small)
    ledger: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # ledger chains only


def check_roundtable_file(conn: sqlite3.Connection) -> None:
    """Raise `NotARoundtableDatabase` unless this looks like Roundtable's SQLite file."""
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise NotARoundtableDatabase(f"not an SQLite database ({exc})") from None
    if not {"events", "deliberations", "decision_records"} <= names:
        raise NotARoundtableDatabase("an SQLite database, but not Roundtable's (no events table)")


def verify_database(conn: sqlite3.Connection, public_key: bytes | None = None, anchors: str = "") -> Report:
    """Every check above, on an open connection. Problems name the table, key and column."""

    factory = conn.row_factory
    conn.row_factory = None  # plain tuples, whoever opened the connection
    try:
        return _verify(conn, public_key, anchors)
    finally:
        conn.row_factory = factory


def _verify(conn: sqlite3.Connection, public_key: bytes | None, anchors: str) -> Report:

    report = Report()
    check_roundtable_file(conn)
    latest = migrations()[-1][0]
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version != latest:
        advice = "run `python -m bot db upgrade` first" if version < latest else "a newer Roundtable wrote it"
        report.add(f"schema: user_version is {version}, this release writes {latest} ({advice})")
        if version < SIGNED_SINCE:
            return report

    heads = {
        r[0]: r[1:] for r in conn.execute("SELECT stream, guild_id, seq, hash, key_id, signature FROM stream_heads")
    }
    keys = dict(conn.execute("SELECT key_id, public_key FROM signing_keys").fetchall())
    decoded = {k: _b64(v) for k, v in keys.items()}
    streams: dict[str, _Stream] = {}
    for stream, rows in _streams(conn):
        report.events += len(rows)
        report.streams += 1
        info = _check_chain(stream, rows, report)
        streams[stream] = info
        _check_head(stream, info, heads.get(stream), public_key, decoded, bool(keys), report)
        kind, number = stream[0], int(stream[2:]) if STREAM.match(stream) else -1
        if not info.intact or number < 0:
            continue
        if kind == "d":
            _check_deliberation(conn, number, info, rows, public_key, decoded, report)
        elif kind == "g":
            _check_settings(conn, number, rows, report)
    for stream in heads.keys() - streams.keys():
        report.add(f"stream_heads: {stream} has a recorded head but no events (its chain was deleted)")
    _check_orphans(conn, streams, report)
    _check_ledgers(streams, report)
    _check_fts(conn, report)
    report.records = int(conn.execute("SELECT count(*) FROM decision_records").fetchone()[0])
    if anchors:
        _check_anchors(conn, anchors, report)
    _check_schema(conn, report)
    return report


# ---------------------------------------------------------------------- schema


def _expected_schema() -> set[tuple[str, str, str, str]]:

    fresh = sqlite3.connect(":memory:")
    try:
        for _, _, sql in migrations():
            for statement in split_sql(sql):
                fresh.execute(statement)
        return _schema(fresh)
    finally:
        fresh.close()


def _schema(conn: sqlite3.Connection) -> set[tuple[str, str, str, str]]:
    return {
        (r[0], r[1], r[2], r[3] or "")
        for r in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
        if not r[1].startswith("sqlite_")
    }


def _check_schema(conn: sqlite3.Connection, report: Report) -> None:
    expected, actual = _expected_schema(), _schema(conn)
    by_name = {(t, n) for t, n, _, _ in actual}
    for kind, name, _, _ in sorted(expected - actual):
        if (kind, name) not in by_name:
            report.add(f"schema: {kind} {name} is missing (dropped)")
        else:
            report.add(f"schema: {kind} {name} differs from what the migrations create")
    expected_names = {(t, n) for t, n, _, _ in expected}
    for kind, name, _, _ in sorted(actual - expected):
        if (kind, name) not in expected_names:
            report.add(f"schema: {kind} {name} is not Roundtable's (added)")


# ---------------------------------------------------------------------- chains


def _streams(conn: sqlite3.Connection) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Each stream's events in order, one stream in memory at a time."""
    current: str | None = None
    rows: list[tuple[Any, ...]] = []
    for row in conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY stream, seq"):
        if row[2] != current:
            if current is not None:
                yield current, rows
            current, rows = row[2], []
        rows.append(tuple(row))
    if current is not None:
        yield current, rows


def _check_chain(stream: str, rows: list[tuple[Any, ...]], report: Report) -> _Stream:
    match = STREAM.match(stream)
    guild_id = rows[0][1]
    info = _Stream(guild_id, True, (0, GENESIS), first_hash=rows[0][11])
    if match is None:
        report.add(f"events: stream {stream!r} is not one Roundtable writes")
        info.intact = False
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        event_id, guild, _, deliberation_id, seq, kind, actor, actor_name, at, payload, prev_hash, stored = row
        if seq != expected_seq:
            report.add(f"{stream}: event {event_id} has seq {seq}, expected {expected_seq} (an event is missing)")
            info.intact = False
            break
        if prev_hash != prev:
            report.add(f"{stream}: event {event_id} (seq {seq}, {kind}) does not follow the event before it")
            info.intact = False
            break
        if event_hash(prev, stream, seq, kind, actor, actor_name, at, payload) != stored:
            report.add(f"{stream}: event {event_id} (seq {seq}, {kind}) was altered: its hash does not match")
            info.intact = False
            break
        if guild != guild_id:
            report.add(
                f"events: event {event_id} ({stream} seq {seq}) column guild_id is {guild}, its chain's is {guild_id}"
            )
            info.intact = False
        if match is not None:
            want = int(match.group(2)) if match.group(1) == "d" else None
            if deliberation_id != want:
                report.add(
                    f"events: event {event_id} ({stream} seq {seq}) column deliberation_id is {deliberation_id},"
                    f" its stream says {want}"
                )
                info.intact = False
            if match.group(1) in "gl" and guild != int(match.group(2)):
                report.add(
                    f"events: event {event_id} ({stream} seq {seq}) column guild_id is {guild}, its stream's guild"
                )
                info.intact = False
        if kind in TERMINAL_KINDS:
            info.terminal = (kind, seq, stored)
        if stream.startswith("g:"):
            info.hashes[seq] = stored
        if stream.startswith("l:"):
            if kind not in LEDGER_KINDS or actor != "system:ledger":
                report.add(f"{stream}: event {event_id} (seq {seq}, {kind}) is not a ledger entry")
                info.intact = False
            else:
                info.ledger.append((seq, kind, json.loads(payload)))
        prev = stored
    info.last = (len(rows), prev) if info.intact else (rows[-1][4], rows[-1][11])
    return info


def _check_head(
    stream: str,
    info: _Stream,
    head: Sequence[Any] | None,
    public_key: bytes | None,
    keys: dict[str, bytes],
    keyed: bool,
    report: Report,
) -> None:
    if head is None:
        report.add(f"stream_heads: {stream} has no recorded head")
        return
    guild_id, seq, digest, key_id, signature = head
    if (seq, digest) != info.last:
        last_seq = info.last[0]
        why = "events after it were deleted" if seq > last_seq else "events were added after it"
        report.add(f"{stream}: the chain ends at seq {last_seq}, its recorded head is seq {seq} ({why})")
    if guild_id != info.guild_id:
        report.add(f"stream_heads: {stream} column guild_id is {guild_id}, its events' is {info.guild_id}")
    _check_signature(
        f"{stream} head (seq {seq})", guild_id, stream, seq, digest, key_id, signature, public_key, keys, keyed, report
    )


def _check_signature(
    what: str,
    guild_id: int,
    stream: str,
    seq: int,
    digest: str,
    key_id: str | None,
    signature: str | None,
    public_key: bytes | None,
    keys: dict[str, bytes],
    keyed: bool,
    report: Report,
) -> None:
    if signature is None:
        # Unsigned heads are those of a store run without a key; once the file knows a key, the
        # bot signs every head it writes, so an unsigned one is not the bot's.
        if public_key is not None or keyed:
            report.add(f"{what}: not signed")
        return
    key = public_key if public_key is not None else keys.get(key_id or "")
    if key is None:
        report.add(f"{what}: signed by key {key_id}, which this database does not list")
        return
    if not signature_valid(key, head_message(guild_id, stream, seq, digest), signature):
        whose = "the given public key" if public_key is not None else f"key {key_id}"
        report.add(f"{what}: its signature does not hold for {whose} (re-hashed or forged)")
        return
    report.signed_heads += 1


# ---------------------------------------------------------------------- deliberations


def _check_deliberation(
    conn: sqlite3.Connection,
    deliberation_id: int,
    info: _Stream,
    rows: list[tuple[Any, ...]],
    public_key: bytes | None,
    keys: dict[str, bytes],
    report: Report,
) -> None:
    stream, guild_id = f"d:{deliberation_id}", info.guild_id
    try:
        events = [_decoded(r) for r in rows]
        d = replay(deliberation_id, guild_id, events)
    except InvalidEvent as exc:
        report.add(f"{stream}: {exc}")
        return
    _compare_deliberation_row(conn, d, events, report)
    _compare_contributions(conn, d, report)
    _compare_posts(conn, d, events, report)
    _compare_record(conn, d, rows, public_key, keys, report)


def _row(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    cur = conn.execute(sql, params)
    names = [c[0] for c in cur.description]
    found = cur.fetchone()
    return dict(zip(names, found, strict=True)) if found is not None else None


def _diff(table: str, key: str, stored: dict[str, Any], expected: dict[str, Any], report: Report) -> None:
    for column, want in expected.items():
        have = stored.get(column)
        if have != want:
            shown_have, shown_want = _excerpts(have, want)
            report.add(f"{table} {key}: column {column} is {shown_have}, its events say {shown_want}")


def _excerpts(have: Any, want: Any, width: int = 60) -> tuple[str, str]:
    """Both values, or for long texts the stretch where they part, so a report stays readable."""
    if not (isinstance(have, str) and isinstance(want, str)) or max(len(have), len(want)) <= width:
        return repr(have), repr(want)
    start = next((i for i, (a, b) in enumerate(zip(have, want, strict=False)) if a != b), min(len(have), len(want)))
    lo = max(0, start - 20)

    def cut(text: str) -> str:
        piece = text[lo : lo + width]
        return ("…" if lo else "") + repr(piece) + ("…" if lo + width < len(text) else "")

    return cut(have), cut(want)


def _compare_deliberation_row(conn: sqlite3.Connection, d: Deliberation, events: list[Any], report: Report) -> None:
    stored = _row(conn, "SELECT * FROM deliberations WHERE id = ?", (d.id,))
    if stored is None:
        report.add(f"deliberations #{d.id}: the row is missing (its events are there)")
        return
    is_open = d.status is DeliberationStatus.OPEN
    expected = {
        "guild_id": d.guild_id,
        "question": d.question,
        "template": d.template,
        "status": d.status.value,
        "round_kind": d.round.kind.value if is_open else None,
        "deadline_at": d.round.deadline.isoformat() if is_open and d.round.deadline else None,
        "created_at": events[0].at.isoformat(),
        "closed_at": None if is_open else events[-1].at.isoformat(),
    }
    _diff("deliberations", f"#{d.id}", stored, expected, report)


def _compare_contributions(conn: sqlite3.Connection, d: Deliberation, report: Report) -> None:
    cur = conn.execute("SELECT * FROM contributions WHERE deliberation_id = ?", (d.id,))
    names = [c[0] for c in cur.description]
    stored = {row[1]: dict(zip(names, row, strict=True)) for row in cur}
    for cid, c in d.contributions.items():
        row = stored.pop(cid, None)
        key = f"#{d.id}/{cid}"
        if row is None:
            report.add(f"contributions {key}: the row is missing (its events are there)")
            continue
        with contextlib.suppress(json.JSONDecodeError):  # left as stored: it then differs, and is named
            row["ai_meta"] = json.loads(row["ai_meta"]) if row["ai_meta"] else None
        expected = {
            "guild_id": d.guild_id,
            "kind": c.kind.value,
            "author": c.author,
            "author_kind": c.author.partition(":")[0],
            "stance": c.stance,
            "text": c.text,
            "ai_meta": c.ai_meta or None,
            "created_at": c.at.isoformat(),
            "updated_at": c.updated_at.isoformat() if c.updated_at else None,
        }
        _diff("contributions", key, row, expected, report)
    for cid in sorted(stored):
        report.add(f"contributions #{d.id}/{cid}: a row no event wrote (added)")


def _compare_posts(conn: sqlite3.Connection, d: Deliberation, events: list[Event], report: Report) -> None:
    """Posts and the outbox name only what the events owe Discord (`owed_posts`), in their guild."""
    known = set(owed_posts(events))
    present: set[str] = set()
    for table in ("posts", "outbox"):
        for guild_id, ref in conn.execute(f"SELECT guild_id, ref FROM {table} WHERE deliberation_id = ?", (d.id,)):
            present.add(ref)
            if guild_id != d.guild_id:
                report.add(f"{table} #{d.id}/{ref}: column guild_id is {guild_id}, its deliberation's is {d.guild_id}")
            if ref not in known:
                report.add(f"{table} #{d.id}/{ref}: names nothing in deliberation #{d.id}")
    # And the other way: every post owed by an event written since the outbox began has its row
    # (owed, or delivered and in `posts`). Events from before it (a database of schema 4 or
    # older, upgraded) owed nothing to a table that did not exist: their posts are not asked for.
    if report.outbox_since is None:
        row = conn.execute("SELECT min(created_at) FROM outbox").fetchone() if _has_table(conn, "outbox") else None
        report.outbox_since = (row[0] if row else None,)
    since = report.outbox_since[0]
    if since is None:
        return
    start = datetime.fromisoformat(since)
    for ref in owed_posts([e for e in events if e.at >= start]):
        if ref not in present:
            report.add(f"outbox #{d.id}/{ref}: missing; event(s) of deliberation #{d.id} owe this post")


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _compare_record(
    conn: sqlite3.Connection,
    d: Deliberation,
    rows: list[tuple[Any, ...]],
    public_key: bytes | None,
    keys: dict[str, bytes],
    report: Report,
) -> None:
    stored = _row(conn, "SELECT * FROM decision_records WHERE deliberation_id = ?", (d.id,))
    sealed = [r for r in rows if r[5] == EventKind.SEALED]
    key = f"#{d.id}"
    if not sealed:
        if stored is not None:
            report.add(f"decision_records {key}: a record for a deliberation its events never sealed")
        return
    seal = sealed[-1]
    if stored is None:
        report.add(f"decision_records {key}: missing; its deliberation was sealed (event seq {seal[4]})")
        return
    record = json.loads(stored["record_json"])
    sealed_digest = _sealed_digest(_decoded(seal))
    if record_digest(record) != stored["digest"]:
        report.add(f"decision_records {key}: column record_json was altered (its digest does not match)")
        return
    if sealed_digest is not None and sealed_digest != stored["digest"]:
        report.add(f"decision_records {key}: column digest is not what its sealing event sealed")
        return
    current = record.get("format") == RECORD_FORMAT
    if current and record_digest(compose_record(d)) != stored["digest"]:
        report.add(f"decision_records {key}: its content differs from what its events compose")
        return
    expected: dict[str, Any] = {
        "guild_id": d.guild_id,
        "question": record["question"],
        "outcome": record["outcome"]["kind"],
        "sealed_at": record["closed_at"],
        "chain_head": seal[11],
        "seal_seq": seal[4],
    }
    if record.get("chain_head") != seal[11]:
        report.add(f"decision_records {key}: its record's chain_head is not its sealing event")
    if current:
        expected["markdown"] = render_markdown(record)
    _diff("decision_records", key, stored, expected, report)
    if stored["signature"] is not None:
        # Records sealed before signing have none; their chain's signed head covers them.
        what = f"decision_records {key} signature"
        _check_signature(
            what,
            d.guild_id,
            f"d:{d.id}",
            seal[4],
            seal[11],
            stored["key_id"],
            stored["signature"],
            public_key,
            keys,
            False,
            report,
        )


def _decoded(row: Sequence[Any]) -> Event:
    """A stored event row (as `_EVENT_COLUMNS` lists them) as its typed event."""
    try:
        return event_from_row(row[5], row[6], row[7], row[8], row[9])
    except (MalformedEvent, ValueError) as exc:
        raise InvalidEvent(f"event seq {row[4]} ({row[5]}): {exc}") from None


def _sealed_digest(event: Event) -> str | None:
    """The record digest a sealing event carries (None before seals carried one)."""
    return event.payload.record_digest if isinstance(event.payload, DeliberationSealed) else None


def _check_settings(conn: sqlite3.Connection, guild_id: int, rows: list[tuple[Any, ...]], report: Report) -> None:
    last = rows[-1]
    try:
        payload = _decoded(last).payload
    except InvalidEvent as exc:
        report.add(f"g:{guild_id}: {exc}")
        return
    if not isinstance(payload, GuildConfigured):
        report.add(f"g:{guild_id}: event seq {last[4]} is a {last[5]}, not a settings change")
        return
    stored = _row(conn, "SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
    if stored is None:
        report.add(f"guild_settings {guild_id}: the row is missing (its events are there)")
        return
    expected = {
        "moderator_role_id": payload.moderator_role_id,
        "archive_channel_id": payload.archive_channel_id,
        "ai_enabled": int(payload.ai_enabled),
        "updated_at": last[8],
    }
    _diff("guild_settings", str(guild_id), stored, expected, report)


def _check_orphans(conn: sqlite3.Connection, streams: dict[str, _Stream], report: Report) -> None:
    """Rows of the derived tables that no chain stands behind."""
    deliberations = {int(s[2:]) for s in streams if s.startswith("d:")}
    guilds = {int(s[2:]) for s in streams if s.startswith("g:")}
    for table, column in (
        ("deliberations", "id"),
        ("contributions", "deliberation_id"),
        ("decision_records", "deliberation_id"),
        ("posts", "deliberation_id"),
    ):
        for (number,) in conn.execute(f"SELECT DISTINCT {column} FROM {table} ORDER BY 1"):
            if number not in deliberations:
                report.add(f"{table} #{number}: rows for a deliberation with no events (deleted or added)")
    for (guild_id,) in conn.execute("SELECT guild_id FROM guild_settings ORDER BY 1"):
        if guild_id not in guilds:
            report.add(f"guild_settings {guild_id}: a row with no settings chain (its events were deleted)")


def _check_ledgers(streams: dict[str, _Stream], report: Report) -> None:
    opened: dict[int, int] = {}
    closed: dict[int, int] = {}
    configured: dict[int, set[int]] = {}
    for stream, info in streams.items():
        if not stream.startswith("l:") or not info.intact:
            continue
        guild_id = int(stream[2:])
        for seq, kind, p in info.ledger:
            where = f"{stream} seq {seq}"
            if kind == "ledger.configured":
                settings = streams.get(f"g:{guild_id}")
                configured.setdefault(guild_id, set()).add(p["seq"])
                if settings is None or settings.hashes.get(p["seq"]) != p["head"]:
                    report.add(f"{where}: settings chain g:{guild_id} has no event {p['seq']} with its hash (deleted)")
                continue
            number = p["deliberation"]
            target = streams.get(f"d:{number}")
            if target is None:
                report.add(f"{where}: deliberation #{number} is in the ledger but its events are gone (deleted)")
                continue
            if target.guild_id != guild_id:
                report.add(f"{where}: deliberation #{number} is guild {guild_id}'s, its events say {target.guild_id}")
            if kind == "ledger.opened":
                opened[number] = guild_id
                if target.first_hash != p["head"]:
                    report.add(f"{where}: deliberation #{number}'s first event is not the one the ledger holds")
            else:
                closed[number] = guild_id
                if target.terminal is None or target.terminal[1:] != (p["seq"], p["head"]):
                    report.add(
                        f"{where}: deliberation #{number} was {p['kind'].split('.')[-1]} at seq {p['seq']},"
                        " and its chain no longer holds that event (its tail was cut or rewritten)"
                    )
    for stream, info in streams.items():
        if stream.startswith("d:"):
            number = int(stream[2:])
            if number not in opened:
                report.add(f"{stream}: deliberation #{number} is in no guild's ledger (added, or moved guild)")
            if info.terminal is not None and number not in closed:
                report.add(f"{stream}: its {info.terminal[0]} event is not in its guild's ledger (added)")
        elif stream.startswith("g:"):
            guild_id = int(stream[2:])
            missing = sorted(set(info.hashes) - configured.get(guild_id, set()))
            if missing:
                report.add(f"{stream}: settings events {missing} are not in the guild's ledger (added)")


def _check_fts(conn: sqlite3.Connection, report: Report) -> None:
    """The index against its content (decision_records, compared above); rows named if it fails."""
    try:
        conn.execute("INSERT INTO decision_records_fts (decision_records_fts, rank) VALUES ('integrity-check', 1)")
        return
    except sqlite3.DatabaseError:
        pass
    # Rebuild the index of the stored records in memory and name what differs.
    conn.execute("CREATE VIRTUAL TABLE temp.rt_expected USING fts5 (question, markdown, guild_id)")
    try:
        conn.execute(
            "INSERT INTO temp.rt_expected (rowid, question, markdown, guild_id)"
            " SELECT deliberation_id, question, markdown, guild_id FROM decision_records"
        )
        conn.execute("CREATE VIRTUAL TABLE temp.rt_have USING fts5vocab(main, decision_records_fts, instance)")
        conn.execute("CREATE VIRTUAL TABLE temp.rt_want USING fts5vocab(temp, rt_expected, instance)")
        columns = "doc, col, term, offset"
        extra = f"SELECT {columns} FROM temp.rt_have EXCEPT SELECT {columns} FROM temp.rt_want"
        missing = f"SELECT {columns} FROM temp.rt_want EXCEPT SELECT {columns} FROM temp.rt_have"
        differ = sorted(
            {(doc, col) for doc, col, _, _ in conn.execute(extra)}
            | {(doc, col) for doc, col, _, _ in conn.execute(missing)}
        )
    finally:
        for table in ("rt_want", "rt_have", "rt_expected"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    if not differ:
        report.add("decision_records_fts: the full-text index fails SQLite's integrity check")
    for doc, col in differ:
        report.add(f"decision_records_fts #{doc}: column {col} of the index differs from its record")


def _check_anchors(conn: sqlite3.Connection, text: str, report: Report) -> None:
    found = ANCHOR.findall(text)
    if not found:
        report.add("anchors: the anchors file holds no 'roundtable-anchor' lines")
    for guild, stream, seq, digest in found:
        report.anchors += 1
        where = f"anchor {stream} seq {seq}"
        row = conn.execute(
            "SELECT hash, guild_id FROM events WHERE stream = ? AND seq = ?", (stream, int(seq))
        ).fetchone()
        if row is None:
            last = conn.execute("SELECT max(seq) FROM events WHERE stream = ?", (stream,)).fetchone()[0]
            if last is None:
                report.add(f"{where}: the chain {stream} is gone from the database (deleted)")
            else:
                report.add(f"{where}: the chain ends at seq {last} (its tail was cut)")
        elif row[0] != digest:
            report.add(f"{where}: the event there is not the one anchored (the chain was rewritten)")
        elif row[1] != int(guild):
            report.add(f"{where}: anchored for guild {guild}, the database says {row[1]}")


def _b64(value: str) -> bytes:
    import base64

    return base64.b64decode(value)


# ---------------------------------------------------------------------- exported records


def verify_proof(
    record: dict[str, Any], markdown: str | None, proof: dict[str, Any], public_key: bytes | None
) -> list[str]:
    """Check one exported record with no database: its events chain to the head it carries, that
    head is signed, the events compose the record, and the record is the one its seal sealed."""
    problems: list[str] = []
    number = int(proof.get("deliberation_id") or 0)
    name = f"record #{number}"
    stream = f"d:{number}"
    if proof.get("stream") != stream:
        return [f"{name}: its proof is for another stream ({proof.get('stream')})"]
    prev, events = GENESIS, []
    for expected_seq, (seq, kind, actor, actor_name, at, payload, prev_hash, digest) in enumerate(
        proof.get("events", []), start=1
    ):
        if (
            seq != expected_seq
            or prev_hash != prev
            or event_hash(prev, stream, seq, kind, actor, actor_name, at, payload) != digest
        ):
            return [f"{name}: event seq {seq} ({kind}) was altered or is missing"]
        try:
            events.append(event_from_row(kind, actor, actor_name, at, payload))
        except MalformedEvent as exc:
            return [f"{name}: event seq {seq}: {exc}"]
        prev = digest
    if not events:
        return [f"{name}: its proof carries no events"]
    head = proof.get("head") or {}
    if record.get("chain_head") != prev or head.get("hash") != prev or head.get("seq") != len(events):
        problems.append(f"{name}: its chain head is not where its events end")
    try:
        d = replay(number, proof["guild_id"], events)
    except InvalidEvent as exc:
        return [*problems, f"{name}: {exc}"]
    if d.status is not DeliberationStatus.CLOSED:
        problems.append(f"{name}: its events never sealed it")
    digest = record_digest(record)
    if _sealed_digest(events[-1]) not in (None, digest):
        problems.append(f"{name}: the record is not what its sealing event sealed")
    if record.get("format") == RECORD_FORMAT:
        if record_digest(compose_record(d)) != digest:
            problems.append(f"{name}: the record differs from what its events compose")
        if markdown is not None and render_markdown(record) != markdown:
            problems.append(f"{name}: its Markdown differs from its record")
    key = public_key
    carried = _b64(proof["public_key"]) if proof.get("public_key") else None
    if key is None:
        key = carried
    elif carried is not None and carried != key:
        problems.append(f"{name}: signed with another key than the one given")
    if key is None or not proof.get("signature"):
        problems.append(f"{name}: not signed")
    elif not signature_valid(key, head_message(proof["guild_id"], stream, len(events), prev), proof["signature"]):
        problems.append(f"{name}: its signature does not hold (re-hashed or forged)")
    return problems
