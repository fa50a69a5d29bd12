"""`python -m bot`: run the bot, open the sandbox, verify and export the archive, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.analysis.cli import add_commands as add_polis_commands
from bot.config import CONFIG_ENV, Settings
from bot.engine import Actor, RoundtableError
from bot.sandbox import add_command as add_sandbox_command
from bot.service import Roundtable
from bot.store import Store

NO_TOKEN = """No Discord token is set, so Roundtable cannot connect to Discord.

Set one in either place:
  - config.toml:            [discord]
                            token = "..."
  - the environment:        export ROUNDTABLE__DISCORD__TOKEN=...

Or try the bot without Discord, in the offline sandbox:  make sandbox
"""


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "db", None):
        overrides["database"] = {"path": Path(args.db)}
    try:
        settings = Settings.load(Path(args.config) if args.config else None, **overrides)
    except ValidationError as exc:
        raise SystemExit(f"The configuration is not valid:\n{exc}") from exc
    return settings


def _cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.discord.token is None or not settings.discord.token.get_secret_value().strip():
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import create_bot  # discord.py is imported only when the bot runs

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    create_bot(settings).run(settings.discord.token.get_secret_value(), log_handler=None)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from bot.verify_cli import verify_cli

    return verify_cli(args, lambda: _settings(args).database.path)


def _cmd_export(args: argparse.Namespace) -> int:
    from bot.verify_cli import export_cli

    return export_cli(args, _settings(args).database.path)


async def _upgrade(path: Path) -> tuple[int, int]:
    store = await Store.open(path, migrate=False)
    try:
        return await store.migrate()
    finally:
        await store.close()


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    path = _settings(args).database.path
    before, after = asyncio.run(_upgrade(path))
    print(f"{path}: schema version {before} -> {after}." if after != before else f"{path}: up to date ({after}).")
    return 0


async def _polis_import(settings: Settings, args: argparse.Namespace) -> str:
    from bot.polis import ReplayClock, import_polis

    clock = ReplayClock(datetime.now(UTC))
    roundtable = await Roundtable.open(settings, clock)
    try:
        report = await import_polis(
            roundtable,
            clock,
            args.directory,
            guild_id=args.guild,
            moderator=Actor.human(args.moderator, "Polis import"),
        )
    finally:
        await roundtable.close()
    return (
        f"Imported {args.directory.name} as deliberation #{report.deliberation_id}: {report.statements} statements, "
        f"{report.votes} votes ({report.moderated_out} statements moderated out as in Polis; "
        f"{report.skipped_duplicates} duplicate comments left out; {report.skipped_votes} votes changed nothing)."
    )


def _cmd_polis_import(args: argparse.Namespace) -> int:
    if not (args.directory / "comments.csv").is_file() or not (args.directory / "votes.csv").is_file():
        print(f"{args.directory} is not a Polis export (comments.csv and votes.csv).", file=sys.stderr)
        return 2
    print(asyncio.run(_polis_import(_settings(args), args)))
    return 0


async def _polis_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.polis import export_polis

    roundtable = await Roundtable.open(settings)
    try:
        deliberation = await roundtable.get(args.guild, args.deliberation)
    finally:
        await roundtable.close()
    return export_polis(deliberation, args.out)


def _cmd_polis_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.database.path.exists():
        print(f"No database at {settings.database.path}.", file=sys.stderr)
        return 2
    try:
        rows = asyncio.run(_polis_export(settings, args))
    except RoundtableError as refusal:
        print(refusal.user_message, file=sys.stderr)
        return 1
    print(f"Wrote comments.csv and votes.csv ({rows} rows) to {args.out}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Roundtable: structured deliberations on Discord."
    )
    parser.add_argument("--config", help=f"the settings file (default: ${CONFIG_ENV} or ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="connect to Discord and serve (needs a token)")
    run.set_defaults(func=_cmd_run)

    verify = sub.add_parser("verify", help="prove the database (or an exported FILE.zip); exit 1 if tampered")
    verify.add_argument("file", nargs="?", type=Path, help="an exported .zip to check with no database")
    verify.add_argument("--db", help="the SQLite file (default: database.path from the settings)")
    verify.add_argument("--public-key", type=Path, help="the bot's public key file (<signing key>.pub)")
    verify.add_argument("--anchors", type=Path, help="a file of 'roundtable-anchor' lines collected from Discord")
    verify.set_defaults(func=_cmd_verify)

    export = sub.add_parser("export", help="write a guild's sealed decision records, one file each")
    export.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    export.add_argument("--format", choices=("markdown", "json", "zip"), default="markdown")
    export.add_argument("--out", required=True, help="the directory to write into")
    export.add_argument("--db", help="the SQLite file (default: database.path from the settings)")
    export.set_defaults(func=_cmd_export)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.add_argument("--db", help="the SQLite file (default: database.path from the settings)")
    upgrade.set_defaults(func=_cmd_db_upgrade)

    add_sandbox_command(sub)
    add_polis_commands(sub)
    polis = sub.choices["polis"].get_default("polis_subparsers")
    polis_import = polis.add_parser(
        "import", help="replay a Polis export into a new deliberation (statements and votes)"
    )
    polis_import.add_argument("directory", type=Path, help="export directory (comments.csv, votes.csv)")
    polis_import.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id to hold it")
    polis_import.add_argument("--moderator", type=int, default=0, help="the moderator's Discord user id (default 0)")
    polis_import.add_argument("--db", help="the SQLite file (default: database.path from the settings)")
    polis_import.set_defaults(func=_cmd_polis_import)
    polis_export = polis.add_parser("export", help="write a deliberation's statements and votes as Polis CSV")
    polis_export.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    polis_export.add_argument("--deliberation", type=int, required=True, help="the deliberation id")
    polis_export.add_argument("--out", type=Path, required=True, help="the directory to write into")
    polis_export.add_argument("--db", help="the SQLite file (default: database.path from the settings)")
    polis_export.set_defaults(func=_cmd_polis_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
