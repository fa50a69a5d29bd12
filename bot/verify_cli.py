"""`python -m bot verify` and `python -m bot export`: prove the database or an exported archive.

Kept out of bot/cli.py so that the command table there stays small; both are reached from it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.engine.record import record_json
from bot.store import Store, StoredRecord
from bot.store.signing import load_public_key
from bot.store.url import DatabaseURL
from bot.store.verify import NotARoundtableDatabase, Report, check_roundtable_file, verify_database, verify_proof


def open_roundtable_file(path: Path) -> sqlite3.Connection:
    """The file, if it is Roundtable's; else `NotARoundtableDatabase`.

    Not opened read-only: the full-text index's integrity check is an INSERT (that writes
    nothing), which a read-only connection refuses. Nothing here writes to the file.
    """
    if not path.is_file():
        raise NotARoundtableDatabase("no such file")
    if path.stat().st_size == 0:
        raise NotARoundtableDatabase("the file is empty")
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    try:
        check_roundtable_file(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _public_key(args: argparse.Namespace) -> bytes | None:
    if args.public_key is None:
        return None
    try:
        return load_public_key(args.public_key)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{args.public_key}: not a public key ({exc}).") from None


async def _postgres_store(url: DatabaseURL) -> Any:
    """A PostgreSQL database, if it holds Roundtable's schema; else `NotARoundtableDatabase`."""
    from bot.store.pg import PgStore

    store = await PgStore.open(url.dsn, migrate=False)
    if await store.schema_version() == 0:
        await store.close()
        raise NotARoundtableDatabase("no Roundtable schema in it")
    return store


async def _verify_postgres(url: DatabaseURL, public_key: bytes | None, anchors: str) -> Report:
    from bot.store.pg_verify import verify_postgres

    store = await _postgres_store(url)
    try:
        return await verify_postgres(store._pool, public_key, anchors)
    finally:
        await store.close()


def verify_cli(args: argparse.Namespace, database: Callable[[], Path | DatabaseURL]) -> int:
    public_key = _public_key(args)
    if args.file is not None:
        return _verify_zip(args.file, public_key)
    path = database()
    anchors = ""
    if args.anchors is not None:
        try:
            anchors = args.anchors.read_text(errors="replace")
        except OSError as exc:
            print(f"{args.anchors}: cannot read the anchors ({exc.strerror}).", file=sys.stderr)
            return 2
    if isinstance(path, DatabaseURL):
        try:
            found = asyncio.run(_verify_postgres(path, public_key, anchors))
        except NotARoundtableDatabase as exc:
            print(f"{path}: not a Roundtable database ({exc}).", file=sys.stderr)
            return 2
        return _print_report(str(path), found, public_key is not None)
    try:
        conn = open_roundtable_file(path)
    except NotARoundtableDatabase as exc:
        print(f"{path}: not a Roundtable database ({exc}).", file=sys.stderr)
        return 2
    try:
        report = verify_database(conn, public_key, anchors)
    except sqlite3.DatabaseError as exc:
        print(f"{path}: not a readable Roundtable database ({exc}).", file=sys.stderr)
        return 2
    finally:
        conn.close()
    return _print_report(str(path), report, public_key is not None)


def _print_report(name: str, report: Report, keyed: bool) -> int:
    if report.problems:
        print(f"{name}: NOT intact.", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    signed = f", {report.signed_heads} signed heads checked" + (" against the given key" if keyed else "")
    anchored = f", {report.anchors} anchors found" if report.anchors else ""
    print(
        f"{name}: intact ({report.events} events in {report.streams} chains,"
        f" {report.records} sealed records verified{signed}{anchored})."
    )
    return 0


def _stray_files(archive: zipfile.ZipFile, names: set[str], records: list[str]) -> list[str]:
    """Everything in an export besides the proven records must be what the export writes: each
    record's Markdown beside its JSON, the index matching the records, the README as written."""
    from bot.exts.decisions._export import README

    problems = []
    stems = {name.removesuffix(".json") for name in records}
    for name in sorted(names):
        if name in ("index.json", "README.txt") or name.removesuffix(".proof.json") in stems:
            continue
        if name.endswith(".json") and name.removesuffix(".json") in stems:
            continue
        if name.endswith(".md") and name.removesuffix(".md") in stems:
            continue
        problems.append(f"{name}: not part of any record in this export (added)")
    problems += [f"{stem}.md: missing (deleted)" for stem in sorted(stems) if f"{stem}.md" not in names]
    if "README.txt" in names and archive.read("README.txt").decode(errors="replace") != README:
        problems.append("README.txt: not the text the export writes (altered)")
    if "index.json" in names:
        try:
            index = {int(row["deliberation_id"]): row for row in json.loads(archive.read("index.json"))}
            for name in records:
                number = int(name.removeprefix("records/").removesuffix(".json"))
                row = index.pop(number, None)
                expected = _index_row(number, json.loads(archive.read(name)))
                if row is None or any(row.get(k) != v for k, v in expected.items()):
                    problems.append(f"index.json: its entry for {name} does not match the record (altered)")
            problems += [f"index.json: lists record #{i}, which is not in this export" for i in sorted(index)]
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"index.json: unreadable ({exc})")
    return problems


def _index_row(number: int, record: dict[str, Any]) -> dict[str, Any]:
    from bot.exts.decisions._export import index_row

    return index_row(number, record)


def _verify_zip(path: Path, public_key: bytes | None) -> int:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        print(f"{path}: not a Roundtable export ({exc}).", file=sys.stderr)
        return 2
    problems: list[str] = []
    checked = 0
    with archive:
        names = set(archive.namelist())
        records = sorted(n for n in names if n.startswith("records/") and n.endswith(".json") and ".proof" not in n)
        if not records:
            print(f"{path}: not a Roundtable export (no records/).", file=sys.stderr)
            return 2
        problems += _stray_files(archive, names, records)
        for name in records:
            stem = name.removesuffix(".json")
            if f"{stem}.proof.json" not in names:
                if json.loads(archive.read(name)).get("anonymous"):
                    # Exported without its events, which name the members behind the aliases: nothing
                    # here can check it, so the archive is not called intact.
                    problems.append(
                        f"{name}: anonymous, exported without its events (they name members), so it cannot be "
                        "checked offline; check it with `verify --db` or against the anchor posted at its seal"
                    )
                else:
                    problems.append(f"{name}: no proof ({stem}.proof.json) to check it with")
                continue
            try:
                record = json.loads(archive.read(name))
                proof = json.loads(archive.read(f"{stem}.proof.json"))
                markdown = archive.read(f"{stem}.md").decode() if f"{stem}.md" in names else None
                problems += verify_proof(record, markdown, proof, public_key)
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{name}: unreadable ({exc})")
            checked += 1
    if problems:
        print(f"{path}: NOT intact.", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    whose = "the given public key" if public_key is not None else "the key each proof carries"
    print(f"{path}: intact ({checked} records, each chained, composed and signed; checked against {whose}).")
    return 0


async def _records(
    path: Path | DatabaseURL, guild_id: int
) -> tuple[list[int], list[tuple[StoredRecord, dict[str, Any] | None]]]:
    """The guilds the file holds, and this guild's records with their proofs (none if it holds no such guild)."""
    store = await (_postgres_store(path) if isinstance(path, DatabaseURL) else Store.open(path, migrate=False))
    try:
        known = await store.guild_ids()
        if guild_id not in known:
            return known, []
        return known, [(stored, await store.record_proof(stored)) async for stored in store.all_records(guild_id)]
    finally:
        await store.close()


def export_cli(args: argparse.Namespace, path: Path | DatabaseURL) -> int:
    try:
        if isinstance(path, DatabaseURL):
            known, records = asyncio.run(_records(path, args.guild))
        else:
            open_roundtable_file(path).close()
            known, records = asyncio.run(_records(path, args.guild))
    except NotARoundtableDatabase as exc:
        print(f"{path}: not a Roundtable database ({exc}).", file=sys.stderr)
        return 2
    if args.guild not in known:
        held = ", ".join(str(g) for g in known) or "none"
        print(f"The database {path} holds nothing for guild {args.guild}. Guild ids it holds: {held}.", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.format == "zip":
        from bot.exts.decisions._export import ExportRecord, build_export

        items = [ExportRecord(s.deliberation_id, s.record, s.markdown, s.chain_head, proof) for s, proof in records]
        for part in build_export(args.guild, items, max_bytes=1 << 62):
            (out / part.filename).write_bytes(part.data)
    for stored, proof in records if args.format != "zip" else ():
        if args.format == "json":
            target = out / f"decision-{stored.deliberation_id}.json"
            target.write_text(record_json(stored.record, pretty=True))
        else:
            (out / f"decision-{stored.deliberation_id}.md").write_text(stored.markdown)
        if proof is not None:
            proof_file = out / f"decision-{stored.deliberation_id}.proof.json"
            proof_file.write_text(json.dumps(proof, indent=1, ensure_ascii=False) + "\n")
    print(f"Wrote {len(records)} decision record(s) to {args.out}.")
    return 0
