"""`python -m bot verify` against someone who holds the SQLite file: every edit issue 9 lists is caught.

Each test builds a real database through the bot's own service, edits the file with the
sqlite3 module as an adversary would (dropping the append-only triggers first where the edit
needs it), and runs the CLI in process: it must exit non-zero and name what changed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.cli import main
from bot.config import Settings
from bot.engine import Actor, ConsentChoice, Role
from bot.service import Roundtable
from bot.store import GuildSettings, Store, StoredRecord
from bot.store.chain import canonical, event_hash
from bot.store.signing import Signer, head_message, public_pem
from tests.conftest import ManualClock

pytestmark = pytest.mark.sqlite_only  # edits the SQLite file; PostgreSQL's tampering: tests/store/test_postgres.py

GUILD = 1001
MOD, ADA, BEN = Actor.human(10, "Mona"), Actor.human(11, "Ada"), Actor.human(12, "Ben")

SEALED, OPEN = 1, 2
_T = TypeVar("_T")  # the two deliberations `build` makes


async def build(settings: Settings, clock: ManualClock) -> Path:
    """A guild with settings, one sealed deliberation (a block standing), one open with an objection."""
    rt = await Roundtable.open(settings, clock)
    await rt.configure_guild(GUILD, 10, moderator_role_id=555, archive_channel_id=777)
    d = (await rt.start(GUILD, 5, MOD, "Fridays?", template="quick")).deliberation
    await rt.act(GUILD, d.id, lambda d, at: d.state_position(ADA, "Yes", "Fridays free the weekend", at))
    await rt.act(GUILD, d.id, lambda d, at: d.state_position(BEN, "No", "I work on Fridays", at))
    clock.advance(15)
    await rt.act(GUILD, d.id, lambda d, at: d.advance(MOD, at))
    await rt.act(GUILD, d.id, lambda d, at: d.give_consent(ADA, ConsentChoice.ENDORSE, at))
    await rt.act(GUILD, d.id, lambda d, at: d.give_consent(BEN, ConsentChoice.BLOCK, at, reason="Shift work"))
    clock.advance(15)
    await rt.act(GUILD, d.id, lambda d, at: d.advance(MOD, at))
    o = (await rt.start(GUILD, 5, MOD, "A new projector?", template="consent")).deliberation
    await rt.act(GUILD, o.id, lambda d, at: d.state_position(ADA, "Yes", "The old one flickers", at))
    await rt.act(GUILD, o.id, lambda d, at: d.join(BEN, Role.PARTICIPANT, at))
    clock.advance(15)
    await rt.act(GUILD, o.id, lambda d, at: d.advance(MOD, at))
    await rt.act(GUILD, o.id, lambda d, at: d.object(BEN, "Too dear", "We have no budget", at))
    await rt.store.save_post(GUILD, o.id, "agenda", 5, 500)
    await rt.store.save_post(GUILD, o.id, "c:1", 50, 501)
    await rt.close()
    assert (d.id, o.id) == (SEALED, OPEN)
    return settings.database.path


@pytest.fixture
def db(settings: Settings, clock: ManualClock) -> Path:
    return asyncio.run(build(settings, clock))


def reopen(settings: Settings, clock: ManualClock, *actions: Callable[[Roundtable], Awaitable[object]]) -> None:
    """Start the bot on the file again and act through it, as the next run would."""

    async def run() -> None:
        rt = await Roundtable.open(settings, clock)
        try:
            for action in actions:
                await action(rt)
        finally:
            await rt.close()

    asyncio.run(run())


def verify(capsys: pytest.CaptureFixture[str], db: Path, *extra: str) -> tuple[int, str]:
    code = main(["verify", "--db", str(db), *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def edit(db: Path, *statements: str, guards: bool = False) -> None:
    """Change the file as someone holding it would; `guards` drops the append-only triggers first."""
    conn = sqlite3.connect(db)
    if guards:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("DROP TRIGGER events_no_delete")
    for statement in statements:
        conn.executescript(statement)
    conn.commit()
    conn.close()


def assert_caught(capsys: pytest.CaptureFixture[str], db: Path, *names: str) -> str:
    code, out = verify(capsys, db)
    assert code == 1, out
    assert "NOT intact" in out
    for name in names:
        assert name in out, out
    return out


def test_the_untouched_database_is_intact(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out = verify(capsys, db)
    assert code == 0, out
    assert "intact" in out
    assert "1 sealed records" in out


# ---------------------------------------------------------------------- the record's own row


def test_a_deleted_record_row(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    edit(db, "DELETE FROM decision_records")
    assert_caught(capsys, db, f"decision_records #{SEALED}: missing")


@pytest.mark.parametrize(
    ("column", "value"),
    [("outcome", "consensus"), ("question", "Thursdays?"), ("sealed_at", "2020-01-01T00:00:00+00:00")],
)
def test_a_changed_record_column(capsys: pytest.CaptureFixture[str], db: Path, column: str, value: str) -> None:
    edit(db, f"UPDATE decision_records SET {column} = '{value}'")
    assert_caught(capsys, db, f"decision_records #{SEALED}: column {column} is '{value}'")


# ---------------------------------------------------------------------- derived rows


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE contributions SET text = 'I love Fridays' WHERE id = 2", f"contributions #{SEALED}/2: column text"),
        ("UPDATE contributions SET author = 'human:99' WHERE id = 1", f"contributions #{SEALED}/1: column author"),
        (
            "UPDATE contributions SET author_kind = 'ai' WHERE id = 1",
            f"contributions #{SEALED}/1: column author_kind is 'ai'",
        ),
        (
            f"INSERT INTO contributions (deliberation_id, id, guild_id, kind, author, author_kind, text, created_at)"
            f" VALUES ({OPEN}, 9, {GUILD}, 'position', 'human:13', 'human', 'Planted', '2026-03-01T12:00:00+00:00')",
            f"contributions #{OPEN}/9: a row no event wrote",
        ),
        (f"DELETE FROM contributions WHERE deliberation_id = {OPEN}", f"contributions #{OPEN}/1: the row is missing"),
        (f"UPDATE deliberations SET question = 'Other?' WHERE id = {OPEN}", f"deliberations #{OPEN}: column question"),
        (f"UPDATE deliberations SET status = 'open' WHERE id = {SEALED}", f"deliberations #{SEALED}: column status"),
        (f"UPDATE deliberations SET guild_id = 2002 WHERE id = {OPEN}", f"deliberations #{OPEN}: column guild_id"),
        (
            f"UPDATE deliberations SET deadline_at = '2030-01-01T00:00:00+00:00' WHERE id = {OPEN}",
            f"deliberations #{OPEN}: column deadline_at",
        ),
        ("UPDATE guild_settings SET moderator_role_id = 666", f"guild_settings {GUILD}: column moderator_role_id"),
        ("DELETE FROM guild_settings", f"guild_settings {GUILD}: the row is missing"),
        ("UPDATE posts SET guild_id = 2002 WHERE ref = 'agenda'", f"posts #{OPEN}/agenda: column guild_id"),
        ("UPDATE posts SET ref = 'c:9' WHERE ref = 'c:1'", f"posts #{OPEN}/c:9: names nothing"),
        (
            f"INSERT INTO posts VALUES ({GUILD}, 77, 'agenda', 5, 502)",
            "posts #77: rows for a deliberation with no events",
        ),
    ],
)
def test_a_changed_derived_row(capsys: pytest.CaptureFixture[str], db: Path, statement: str, named: str) -> None:
    edit(db, statement)
    assert_caught(capsys, db, named)


def test_a_phantom_entry_in_the_full_text_index(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # Search would now find record #1 for a word it does not contain.
    edit(
        db,
        "INSERT INTO decision_records_fts (rowid, question, markdown, guild_id)"
        f" VALUES ({SEALED}, 'budget', 'budget approved', '{GUILD}')",
    )
    assert_caught(capsys, db, f"decision_records_fts #{SEALED}: column ")


def test_a_record_taken_out_of_the_full_text_index(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    conn = sqlite3.connect(db)
    question, markdown = conn.execute("SELECT question, markdown FROM decision_records").fetchone()
    conn.execute(
        "INSERT INTO decision_records_fts (decision_records_fts, rowid, question, markdown, guild_id)"
        " VALUES ('delete', ?, ?, ?, ?)",
        (SEALED, question, markdown, str(GUILD)),
    )
    conn.commit()
    conn.close()
    assert_caught(capsys, db, f"decision_records_fts #{SEALED}")


# ---------------------------------------------------------------------- the unhashed columns of events


def test_an_events_guild_id_changed(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    edit(db, f"UPDATE events SET guild_id = 2002 WHERE stream = 'd:{OPEN}' AND seq = 4", guards=True)
    assert_caught(capsys, db, "column guild_id is 2002")


def test_a_whole_deliberation_moved_to_another_guild(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # Every row of it, consistently: only the ledger (and the signed heads) still say whose it is.
    edit(
        db,
        f"UPDATE events SET guild_id = 2002 WHERE stream = 'd:{OPEN}';"
        f"UPDATE deliberations SET guild_id = 2002 WHERE id = {OPEN};"
        f"UPDATE contributions SET guild_id = 2002 WHERE deliberation_id = {OPEN};"
        f"UPDATE posts SET guild_id = 2002 WHERE deliberation_id = {OPEN};"
        f"UPDATE stream_heads SET guild_id = 2002 WHERE stream = 'd:{OPEN}'",
        guards=True,
    )
    assert_caught(capsys, db, f"deliberation #{OPEN} is guild {GUILD}'s, its events say 2002")


def test_an_events_deliberation_id_changed(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    edit(db, f"UPDATE events SET deliberation_id = {SEALED} WHERE stream = 'd:{OPEN}' AND seq = 4", guards=True)
    assert_caught(capsys, db, f"column deliberation_id is {SEALED}, its stream says {OPEN}")


# ---------------------------------------------------------------------- events deleted


def test_the_last_event_of_an_open_chain_deleted(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # Ben's objection disappears from the open deliberation.
    edit(db, f"DELETE FROM events WHERE id = (SELECT max(id) FROM events WHERE stream = 'd:{OPEN}')", guards=True)
    assert_caught(capsys, db, f"d:{OPEN}: the chain ends at seq", "events after it were deleted")


def test_the_sealing_tail_deleted(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # The sealed deliberation turned back into an open one, every derived row made to match.
    conn = sqlite3.connect(db)
    last_open = conn.execute(
        f"SELECT max(seq) FROM events WHERE stream = 'd:{SEALED}' AND kind != 'round.closed'"
        " AND kind != 'deliberation.sealed'"
    ).fetchone()[0]
    prev = conn.execute(f"SELECT hash FROM events WHERE stream = 'd:{SEALED}' AND seq = {last_open}").fetchone()[0]
    conn.close()
    edit(
        db,
        f"DELETE FROM events WHERE stream = 'd:{SEALED}' AND seq > {last_open}",
        f"UPDATE stream_heads SET seq = {last_open}, hash = '{prev}' WHERE stream = 'd:{SEALED}'",
        f"UPDATE deliberations SET status = 'open', closed_at = NULL, round_kind = 'consent' WHERE id = {SEALED}",
        "DELETE FROM decision_records",
        "INSERT INTO decision_records_fts (decision_records_fts) VALUES ('rebuild')",
        guards=True,
    )
    assert_caught(capsys, db, f"deliberation #{SEALED} was sealed at seq", "no longer holds that event")


def test_a_whole_deliberation_deleted(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    edit(
        db,
        f"DELETE FROM events WHERE stream = 'd:{OPEN}'",
        f"DELETE FROM stream_heads WHERE stream = 'd:{OPEN}'",
        f"DELETE FROM posts WHERE deliberation_id = {OPEN}",
        f"DELETE FROM contributions WHERE deliberation_id = {OPEN}",
        f"DELETE FROM deliberations WHERE id = {OPEN}",
        guards=True,
    )
    assert_caught(capsys, db, f"deliberation #{OPEN} is in the ledger but its events are gone")


def test_a_guilds_settings_chain_deleted(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    edit(
        db,
        f"DELETE FROM events WHERE stream = 'g:{GUILD}'",
        f"DELETE FROM stream_heads WHERE stream = 'g:{GUILD}'",
        "DELETE FROM guild_settings",
        guards=True,
    )
    assert_caught(capsys, db, f"settings chain g:{GUILD} has no event 1")


def test_a_guilds_settings_chain_truncated(
    settings: Settings, clock: ManualClock, capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    path = db
    reopen(settings, clock, lambda rt: rt.configure_guild(GUILD, 10, moderator_role_id=999))
    # Back to the first settings, as if the change to role 999 never happened.
    conn = sqlite3.connect(path)
    first = conn.execute(f"SELECT hash, at FROM events WHERE stream = 'g:{GUILD}' AND seq = 1").fetchone()
    conn.close()
    edit(
        path,
        f"DELETE FROM events WHERE stream = 'g:{GUILD}' AND seq = 2",
        f"UPDATE stream_heads SET seq = 1, hash = '{first[0]}' WHERE stream = 'g:{GUILD}'",
        f"UPDATE guild_settings SET moderator_role_id = 555, updated_at = '{first[1]}'",
        guards=True,
    )
    assert_caught(capsys, path, f"settings chain g:{GUILD} has no event 2")


# ---------------------------------------------------------------------- events added or rewritten


def append_event(
    conn: sqlite3.Connection, stream: str, kind: str, actor: Actor, payload: dict[str, object], *, guild: int = GUILD
) -> tuple[int, str]:
    """A correctly hashed event at the end of `stream`, its recorded head moved to match (unsigned)."""
    seq, prev, at = conn.execute(
        "SELECT seq, hash, at FROM events WHERE stream = ? ORDER BY seq DESC LIMIT 1", (stream,)
    ).fetchone()
    seq += 1
    body = canonical(payload)
    digest = event_hash(prev, stream, seq, kind, actor.key, actor.name, at, body)
    deliberation_id = int(stream[2:]) if stream.startswith("d:") else None
    conn.execute(
        "INSERT INTO events (guild_id, stream, deliberation_id, seq, kind, actor, actor_name, at, payload, prev_hash,"
        " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (guild, stream, deliberation_id, seq, kind, actor.key, actor.name, at, body, prev, digest),
    )
    conn.execute("UPDATE stream_heads SET seq = ?, hash = ? WHERE stream = ?", (seq, digest, stream))
    conn.commit()
    return seq, digest


def test_a_correctly_hashed_event_appended(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # Ben withdraws his objection, says the file; the bot never signed that head.
    conn = sqlite3.connect(db)
    append_event(conn, f"d:{OPEN}", "objection.moved", BEN, {"id": 2, "status": "withdrawn"})
    conn.close()
    out = assert_caught(capsys, db, f"d:{OPEN} head", "signature does not hold")
    assert "objection.moved" not in out  # a move the engine would allow: only the signature gives it away


def test_a_malformed_event_withdraws_a_position(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # "withdrawn" for id 1, which is Ada's position, not an objection.
    conn = sqlite3.connect(db)
    append_event(conn, f"d:{OPEN}", "objection.moved", ADA, {"id": 1, "status": "withdrawn"})
    conn.close()
    assert_caught(capsys, db, f"d:{OPEN}: event seq", "objection.moved", "#1 is not an objection")


def test_a_vote_by_an_observer_is_refused_on_replay(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    conn = sqlite3.connect(db)
    append_event(conn, f"d:{OPEN}", "participant.role", BEN, {"role": "observer"})
    conn.close()
    assert_caught(capsys, db, f"d:{OPEN}: event seq", "participant.role", "not allowed")


def rehash(conn: sqlite3.Connection, stream: str, change: Callable[[int, str, str], str]) -> str:
    """Rewrite every event of `stream` (`change(seq, kind, payload)` gives the new payload) and re-chain it."""
    rows = conn.execute(
        "SELECT id, seq, kind, actor, actor_name, at, payload FROM events WHERE stream = ? ORDER BY seq", (stream,)
    ).fetchall()
    prev = "0" * 64
    for event_id, seq, kind, actor, actor_name, at, payload in rows:
        payload = change(seq, kind, payload)
        digest = event_hash(prev, stream, seq, kind, actor, actor_name, at, payload)
        conn.execute(
            "UPDATE events SET payload = ?, prev_hash = ?, hash = ? WHERE id = ?", (payload, prev, digest, event_id)
        )
        prev = digest
    conn.execute("UPDATE stream_heads SET hash = ? WHERE stream = ?", (prev, stream))
    return prev


def forge_open_chain(db: Path, key: Signer) -> None:
    """Rewrite Ben's objection, re-chain, and sign with the forger's own key (replacing the listed key)."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER signing_keys_no_delete")
    stream = f"d:{OPEN}"
    head = rehash(conn, stream, lambda seq, kind, p: p.replace("Too dear", "Fine by me"))
    seq = conn.execute("SELECT seq FROM stream_heads WHERE stream = ?", (stream,)).fetchone()[0]
    conn.execute(
        "UPDATE stream_heads SET key_id = ?, signature = ?",
        (key.key_id, key.sign(head_message(GUILD, stream, seq, head))),
    )
    for stream_, guild, seq_, hash_ in conn.execute("SELECT stream, guild_id, seq, hash FROM stream_heads").fetchall():
        conn.execute(
            "UPDATE stream_heads SET signature = ? WHERE stream = ?",
            (key.sign(head_message(guild, stream_, seq_, hash_)), stream_),
        )
    conn.execute("DELETE FROM signing_keys")
    conn.execute(
        "INSERT INTO signing_keys VALUES (?, ?, '2026-01-01')",
        (key.key_id, __import__("base64").b64encode(key.public_key).decode()),
    )
    conn.commit()
    conn.close()


def test_a_chain_rewritten_and_rehashed_without_the_key_fails_with_the_public_key(
    capsys: pytest.CaptureFixture[str], db: Path, settings: Settings, tmp_path: Path
) -> None:
    public = Path(f"{settings.database.signing_key_path}.pub")
    assert public.exists()
    forge_open_chain(db, Signer.generate())
    code, out = verify(capsys, db, "--public-key", str(public))
    assert code == 1, out
    assert f"d:{OPEN} head" in out
    assert "signature does not hold for the given public key" in out


def test_the_bots_key_file_is_private_and_the_public_key_is_written_beside_it(settings: Settings, db: Path) -> None:
    key = settings.database.signing_key_path
    assert key.stat().st_mode & 0o777 == 0o600
    assert Path(f"{key}.pub").read_text() == public_pem(Signer.load(key).public_key)
    assert key.read_bytes() not in db.read_bytes()
    code = main(["verify", "--db", str(db), "--public-key", f"{key}.pub"])
    assert code == 0


# ---------------------------------------------------------------------- schema


def test_the_append_only_triggers_dropped(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    edit(db, "DROP TRIGGER events_no_update")
    assert_caught(capsys, db, "schema: trigger events_no_update is missing")


def test_a_trigger_added(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    # A trigger that quietly rewrites every new contribution.
    edit(db, "CREATE TRIGGER rewrite AFTER INSERT ON contributions BEGIN UPDATE contributions SET text = 'x'; END")
    assert_caught(capsys, db, "schema: trigger rewrite is not Roundtable's")


@pytest.mark.parametrize("version", [3, 99])
def test_user_version_changed(capsys: pytest.CaptureFixture[str], db: Path, version: int) -> None:
    edit(db, f"PRAGMA user_version = {version}")
    assert_caught(capsys, db, f"schema: user_version is {version}")


# ---------------------------------------------------------------------- anchors


def test_anchors_catch_a_file_rolled_back_to_an_earlier_consistent_copy(
    settings: Settings, clock: ManualClock, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = asyncio.run(build(settings, clock))
    backup = tmp_path / "before.sqlite3"
    shutil.copy(path, backup)  # closed cleanly, so the WAL is checkpointed into the file

    async def seal(rt: Roundtable) -> StoredRecord:
        clock.advance(15)
        for _ in range(3):  # dissent -> synthesis -> consent -> sealed
            await rt.act(GUILD, OPEN, lambda d, at: d.advance(MOD, at, force=True, confirmed=d.current))
            clock.advance(15)
        return await rt.record(GUILD, OPEN)

    sealed: list[StoredRecord] = []
    reopen(settings, clock, lambda rt: _collect(seal(rt), sealed))
    (stored,) = sealed
    anchors = tmp_path / "anchors.txt"
    anchors.write_text(f"(pasted from the thread)\nChain head: {stored.anchor}\n")
    assert stored.signature is not None
    code, out = verify(capsys, path, "--anchors", str(anchors))
    assert code == 0, out
    assert "1 anchors found" in out
    # The whole file put back as it was before the seal: every chain and signature holds.
    shutil.copy(backup, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    code, out = verify(capsys, path)
    assert code == 0, out
    code, out = verify(capsys, path, "--anchors", str(anchors))
    assert code == 1
    assert f"anchor d:{OPEN} seq {stored.seal_seq}: the chain ends at seq" in out


# ---------------------------------------------------------------------- not a database


@pytest.mark.parametrize("content", [b"", b"\x00\xffrandom bytes" * 100, None])
@pytest.mark.parametrize("command", ["verify", "export"])
def test_a_file_that_is_not_a_roundtable_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, command: str
) -> None:
    path = tmp_path / "x.sqlite3"
    if content is None:  # another SQLite database
        other = sqlite3.connect(path)
        other.execute("CREATE TABLE notes (body TEXT)")
        other.commit()
        other.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    export_args = ["--guild", "1", "--out", str(tmp_path / "out")] if command == "export" else []
    args = [command, "--db", str(path), *export_args]
    code = main(args)
    out = capsys.readouterr()
    assert code == 2
    assert out.err.count("\n") == 1
    assert "not a Roundtable database" in out.err
    assert "Traceback" not in out.err
    assert path.read_bytes() == before


# ---------------------------------------------------------------------- an upgraded database


def test_a_database_from_the_previous_release_upgrades_and_verifies(
    settings: Settings, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = asyncio.run(build(settings, clock))

    async def start_and_cancel(rt: Roundtable) -> int:
        cancelled = (await rt.start(GUILD, 5, MOD, "Cancel me?")).deliberation
        await rt.act(GUILD, cancelled.id, lambda d, at: d.cancel(MOD, "Wrong channel", at))
        return cancelled.id

    ids: list[int] = []
    reopen(settings, clock, lambda rt: _collect(start_and_cancel(rt), ids))
    (cancelled_id,) = ids
    from tests.store.test_store_restore import _undo_0004

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE outbox")  # 0005
    _undo_0004(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    assert main(["db", "upgrade", "--db", str(path)]) == 0  # no key here: it signs nothing
    assert "schema version 3 -> 6" in capsys.readouterr().out
    code, out = verify(capsys, path)
    assert code == 0, out
    conn = sqlite3.connect(path)
    ledger = [
        (kind, json.loads(p))
        for kind, p in conn.execute(f"SELECT kind, payload FROM events WHERE stream = 'l:{GUILD}' ORDER BY seq")
    ]
    conn.close()
    assert [k for k, _ in ledger] == [
        "ledger.configured",
        "ledger.opened",
        "ledger.closed",
        "ledger.opened",
        "ledger.opened",
        "ledger.closed",
    ]
    # The first start with a key signs what the upgrade recorded; from then on the key checks it all.
    reopen(settings, clock)
    code, out = verify(capsys, path, "--public-key", f"{settings.database.signing_key_path}.pub")
    assert code == 0, out
    edit(path, f"DELETE FROM events WHERE stream = 'd:{cancelled_id}'", guards=True)
    assert_caught(capsys, path, f"deliberation #{cancelled_id} is in the ledger but its events are gone")


async def test_a_store_without_a_key_writes_unsigned_heads_that_still_verify(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        await store.save_guild_settings(GuildSettings(GUILD, 5), MOD, ManualClock()())
        assert await store.verify() == []
        assert await store.verify(public_key=Signer.generate().public_key) == [
            f"g:{GUILD} head (seq 1): not signed",
            f"l:{GUILD} head (seq 1): not signed",
        ]
    finally:
        await store.close()


async def _collect(result: Awaitable[_T], into: list[_T]) -> None:
    into.append(await result)
