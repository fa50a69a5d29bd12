"""Offline verification: recompute every hash chain and recompose every sealed record."""

from __future__ import annotations

import json
from collections import defaultdict

import aiosqlite

from bot.engine.deliberation import Deliberation
from bot.engine.events import EventKind
from bot.engine.record import RECORD_FORMAT, compose_record, record_digest, render_markdown
from bot.store.chain import GENESIS, event_from_row, event_hash


async def verify_connection(db: aiosqlite.Connection) -> list[str]:
    """Problems found, first bad event of each chain first; an empty list means intact.

    A chain breaks where an event's stored hash differs from the hash of its stored fields and
    its predecessor's hash: an edited field, a deleted event (a gap in `seq`, a wrong
    `prev_hash`) and reordered events all show as the first event whose hash does not hold.
    """
    problems: list[str] = []
    rows_by_stream: dict[str, list[tuple]] = defaultdict(list)
    async with db.execute(
        "SELECT id, stream, seq, kind, actor, actor_name, at, payload, prev_hash, hash, guild_id, deliberation_id"
        " FROM events ORDER BY stream, seq"
    ) as cur:
        async for fetched in cur:
            rows_by_stream[fetched[1]].append(tuple(fetched))
    heads: dict[str, str] = {}
    broken: set[str] = set()
    for stream, rows in rows_by_stream.items():
        prev = GENESIS
        for expected_seq, row in enumerate(rows, start=1):
            event_id, _, seq, kind, actor, actor_name, at, payload, prev_hash, stored = row[:10]
            if seq != expected_seq:
                problems.append(
                    f"{stream}: event {event_id} has seq {seq}, expected {expected_seq} (an event is missing)"
                )
                broken.add(stream)
                break
            if prev_hash != prev:
                problems.append(f"{stream}: event {event_id} (seq {seq}, {kind}) does not follow the event before it")
                broken.add(stream)
                break
            if event_hash(prev, stream, seq, kind, actor, actor_name, at, payload) != stored:
                problems.append(f"{stream}: event {event_id} (seq {seq}, {kind}) was altered: its hash does not match")
                broken.add(stream)
                break
            prev = stored
        heads[stream] = prev

    async with db.execute(
        "SELECT deliberation_id, guild_id, chain_head, digest, record_json, markdown FROM decision_records"
        " ORDER BY deliberation_id"
    ) as cur:
        records = [tuple(r) async for r in cur]
    for deliberation_id, guild_id, chain_head, digest, record_json, markdown in records:
        stored = json.loads(record_json)
        if record_digest(stored) != digest or stored.get("chain_head") != chain_head:
            problems.append(f"record #{deliberation_id}: its stored JSON was altered")
            continue
        current = stored.get("format") == RECORD_FORMAT
        if current and render_markdown(stored) != markdown:
            problems.append(f"record #{deliberation_id}: its stored Markdown was altered")
            continue
        stream = f"d:{deliberation_id}"
        if stream in broken:
            continue
        rows = rows_by_stream.get(stream, [])
        sealed = [r for r in rows if r[3] == EventKind.SEALED]
        if not sealed or sealed[-1][9] != chain_head:
            problems.append(f"record #{deliberation_id}: its chain head is not its deliberation's sealing event")
            continue
        sealed_digest = event_from_row(*sealed[-1][3:8]).payload.record_digest  # type: ignore[union-attr]
        if sealed_digest is not None and sealed_digest != digest:
            problems.append(f"record #{deliberation_id}: its content is not what its sealing event sealed")
            continue
        if not current:
            continue  # an older format: its chain holds its digest, checked above; today's code can't recompose it
        events = [event_from_row(r[3], r[4], r[5], r[6], r[7]) for r in rows if r[2] <= sealed[-1][2]]
        deliberation = Deliberation.from_events(deliberation_id, guild_id, events)
        if record_digest(compose_record(deliberation)) != digest:
            problems.append(f"record #{deliberation_id}: its content differs from what its events compose")
    return problems
