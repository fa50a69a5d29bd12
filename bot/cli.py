"""`python -m bot`: run the bot, open the sandbox, verify, export and publish the archive, migrate.

Only the standard library is imported up front, so `--help` answers at once; each command
imports what it uses (discord.py, the store, scikit-learn, matplotlib, SimCord) when it runs.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bot.archive.site import BuildReport
    from bot.config import Settings
    from bot.store import Store
    from bot.store.url import DatabaseURL

_T = TypeVar("_T")

# Kept here, not imported from bot.config: the help text must not load the settings machinery.
CONFIG_ENV = "ROUNDTABLE_CONFIG"

# Exit codes (listed in `--help`).
EXIT_OK = 0
EXIT_FAILED = 1  # the check failed (verify found tampering) or the request was refused
EXIT_USAGE = 2  # bad usage or input: unknown guild, no database, invalid settings, no token
EXIT_DISCORD = 3  # Discord could not be reached, or it rejected the token
EXIT_CODES = """exit codes:
  0  done
  1  the check failed (verify found an altered record or event) or the request was refused
  2  bad usage or input: an unknown guild, no database, invalid settings, no token
  3  Discord could not be reached, or it rejected the token (run)"""


class CommandError(Exception):
    """A command cannot go on: one clear line for the operator, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


NO_TOKEN = """No Discord token is set, so Roundtable cannot connect to Discord.

Set one in either place:
  - config.toml:            [discord]
                            token = "..."
  - the environment:        export ROUNDTABLE__DISCORD__TOKEN=...

Or try the bot without Discord, in the offline sandbox:  make sandbox
"""


def _run_async(coro: Coroutine[Any, Any, _T]) -> _T:
    import asyncio  # not at the top: it alone costs a sixth of the help's time budget

    return asyncio.run(coro)


def _settings(args: argparse.Namespace) -> Settings:
    from pydantic import ValidationError

    from bot.config import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "db", None):
        from bot.store.url import BadDatabaseURL, looks_like_url, parse_database_url, sqlite_url

        if looks_like_url(args.db):
            try:
                parsed = parse_database_url(args.db)
            except BadDatabaseURL as exc:
                raise CommandError(f"--db: {exc}") from None
            path = parsed.path if parsed.path is not None else Path("data/roundtable.sqlite3")
            overrides["database"] = {"url": args.db, "path": path}
        else:
            overrides["database"] = {"url": sqlite_url(args.db), "path": Path(args.db)}
    try:
        settings = Settings.load(Path(args.config) if args.config else None, **overrides)
    except ValidationError as exc:
        raise CommandError(f"The configuration is not valid:\n{exc}") from exc
    return settings


def _cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.discord.token is None or not settings.discord.token.get_secret_value().strip():
        print(NO_TOKEN, file=sys.stderr)
        return 2
    _require_reachable_database(settings)
    import logging

    import aiohttp
    import discord

    from bot.app import create_bot  # discord.py is imported only when the bot runs

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        create_bot(settings).run(settings.discord.token.get_secret_value(), log_handler=None)
    except discord.LoginFailure as exc:
        raise CommandError(
            f"Discord rejected the token ({exc}); set a valid one in config.toml or ROUNDTABLE__DISCORD__TOKEN.",
            EXIT_DISCORD,
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise CommandError(
            "Discord refused the bot's intents: enable them for the bot in the developer portal.", EXIT_DISCORD
        ) from None
    # Connection failures only (aiohttp's include DNS and refused connections): a local OSError, such
    # as an unwritable database folder, is not Discord's and keeps its traceback.
    except (
        aiohttp.ClientError,
        discord.GatewayNotFound,
        discord.ConnectionClosed,
        discord.HTTPException,
        TimeoutError,
    ) as exc:
        reason = str(exc) or type(exc).__name__
        raise CommandError(f"Cannot reach Discord: {reason}. Check the network and try again.", EXIT_DISCORD) from None
    return EXIT_OK


def _require_reachable_database(settings: Settings) -> None:
    """A PostgreSQL server that cannot be reached (or refuses) at start is one line and exit 2."""
    url = settings.database.database_url
    if not url.is_postgresql:
        return

    async def probe() -> None:
        from bot.store.pg import PgStore

        store = await PgStore.open(url.dsn, migrate=False)
        await store.close()

    try:
        _run_async(probe())
    except Exception as exc:  # OSError (unreachable) or asyncpg's refusals (no database, bad password)
        from bot.store.url import redact

        raise CommandError(f"Cannot open the database {url}: {type(exc).__name__}: {redact(str(exc))}") from None


async def _open_guild(path: Path, guild_id: int) -> Store:
    """The store, if it holds `guild_id`; otherwise a CommandError naming the guilds it holds."""
    from bot.store import Store

    store = await Store.open(path, migrate=False)
    try:
        known = await store.guild_ids()
    except Exception:
        await store.close()  # an open connection's thread would keep the process alive
        raise
    if guild_id not in known:
        await store.close()
        held = ", ".join(str(g) for g in known) or "none"
        raise CommandError(f"The database {path} holds nothing for guild {guild_id}. Guild ids it holds: {held}.")
    return store


def _database(args: argparse.Namespace) -> Path:
    """The settings' database, if it is a Roundtable database (checked without writing to it)."""
    from bot.store.verify import NotARoundtableDatabase
    from bot.verify_cli import open_roundtable_file

    path = _settings(args).database.path
    if not path.exists():
        raise CommandError(f"No database at {path}.")
    try:
        open_roundtable_file(path).close()
    except NotARoundtableDatabase as exc:
        raise CommandError(f"{path}: not a Roundtable database ({exc}).") from None
    return path


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0 to 65535)")
    return port


def _speed(value: str) -> float:
    speed = float(value)
    if not math.isfinite(speed) or speed <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a speed (a number above 0)")
    return speed


def _database_url(args: argparse.Namespace) -> DatabaseURL:
    """The database the settings (or `--db PATH|URL`) name."""
    return _settings(args).database.database_url


def _cmd_verify(args: argparse.Namespace) -> int:
    from bot.verify_cli import verify_cli

    def database() -> Path | DatabaseURL:
        url = _database_url(args)
        return url if url.is_postgresql or url.path is None else url.path

    return verify_cli(args, database)


def _cmd_export(args: argparse.Namespace) -> int:
    from bot.verify_cli import export_cli

    url = _database_url(args)
    return export_cli(args, url if url.is_postgresql else _database(args))


async def _upgrade(url: DatabaseURL) -> tuple[int, int]:
    from bot.store.backend import open_store

    store = await open_store(url, migrate=False)
    try:
        return await store.migrate()
    finally:
        await store.close()


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    url = _database_url(args)
    name = url.path if url.path is not None else url
    before, after = _run_async(_upgrade(url))
    print(f"{name}: schema version {before} -> {after}." if after != before else f"{name}: up to date ({after}).")
    return 0


def _cmd_db_copy(args: argparse.Namespace) -> int:
    from bot.store.copy import CopyRefused, copy_database, describe
    from bot.store.url import BadDatabaseURL

    try:
        report = _run_async(copy_database(args.source, args.target))
    except CopyRefused as refusal:
        raise CommandError(str(refusal), EXIT_FAILED) from None
    except BadDatabaseURL as exc:
        raise CommandError(f"db copy: {exc}") from None
    if report.problems:
        kept = "so none of it was kept (the target is as it was)"
        print(f"The copy to {args.target} is NOT intact, {kept}:", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Copied {describe(report)} from {args.source} to {args.target}; verified: the copy is intact.")
    return EXIT_OK


async def _polis_import(settings: Settings, args: argparse.Namespace) -> str:
    from datetime import UTC, datetime

    from bot.engine import Actor
    from bot.polis import ReplayClock, import_polis
    from bot.service import Roundtable

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
    print(_run_async(_polis_import(_settings(args), args)))
    return 0


async def _polis_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.engine.deliberation import Deliberation
    from bot.polis import export_polis
    from bot.store.backend import open_store

    # A read: no signer (no key made or registered in the append-only signing_keys), no migration.
    store = await open_store(settings.database.database_url, migrate=False)
    try:
        events = await store.load_events(args.guild, args.deliberation)
    finally:
        await store.close()
    return export_polis(Deliberation.from_events(args.deliberation, args.guild, events), args.out)


def _cmd_polis_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.database.database_url.is_postgresql and not settings.database.path.exists():
        print(f"No database at {settings.database.path}.", file=sys.stderr)
        return 2
    from bot.engine import RoundtableError

    try:
        rows = _run_async(_polis_export(settings, args))
    except RoundtableError as refusal:
        print(refusal.user_message, file=sys.stderr)
        return 1
    print(f"Wrote comments.csv and votes.csv ({rows} rows) to {args.out}.")
    return 0


async def _archive_build(path: Path, args: argparse.Namespace) -> BuildReport:
    from bot.archive import build_archive

    store = await _open_guild(path, args.guild)
    try:
        return await build_archive(store, args.guild, Path(args.out), charts=not args.no_charts)
    finally:
        await store.close()


def _cmd_archive_build(args: argparse.Namespace) -> int:
    report = _run_async(_archive_build(_database(args), args))
    index = (report.out / "index.html").resolve()
    print(f"Wrote the archive of guild {report.guild_id} ({report.records} record(s)): open {index.as_uri()}")
    return EXIT_OK


async def _archive_serve(path: Path, args: argparse.Namespace, out: Path) -> None:
    from bot.archive.serve import ArchiveServer

    store = await _open_guild(path, args.guild)  # says which guilds exist if this one does not
    await store.close()
    server = ArchiveServer(path, args.guild, out, port=args.port, charts=not args.no_charts)
    await server.start()
    try:
        print(f"Serving the archive of guild {args.guild} (read-only) at {server.url}", flush=True)
        print("It is rebuilt as records are sealed. Press Ctrl-C to stop.", flush=True)
        import asyncio

        await asyncio.Event().wait()
    finally:
        await server.stop()


def _cmd_archive_serve(args: argparse.Namespace) -> int:
    import contextlib
    import logging
    import tempfile

    path = _database(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.ExitStack() as stack:
        out = Path(args.out) if args.out else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="archive-")))
        with contextlib.suppress(KeyboardInterrupt):
            _run_async(_archive_serve(path, args, out))
    return EXIT_OK


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox import run_from_cli  # SimCord and discord.py load only here

    return run_from_cli(args)


def _with_exit_codes(parser: argparse.ArgumentParser) -> None:
    """Every parser's --help ends with the exit codes."""
    parser.epilog = EXIT_CODES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _with_exit_codes(child)


DB_HELP = "the SQLite file, or a database URL (sqlite:///PATH, postgresql://USER@HOST/DB); default: the settings'"


def build_parser() -> argparse.ArgumentParser:
    from bot.analysis.cli import add_commands as add_polis_commands  # argparse only, the analysis loads later

    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Roundtable: structured deliberations on Discord."
    )
    parser.add_argument("--config", help=f"the settings file (default: ${CONFIG_ENV} or ./config.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="connect to Discord and serve (needs a token)")
    run.set_defaults(func=_cmd_run)

    verify = sub.add_parser("verify", help="prove the database (or an exported FILE.zip); exit 1 if tampered")
    verify.add_argument("file", nargs="?", type=Path, help="an exported .zip to check with no database")
    verify.add_argument("--db", help=DB_HELP)
    verify.add_argument("--public-key", type=Path, help="the bot's public key file (<signing key>.pub)")
    verify.add_argument("--anchors", type=Path, help="a file of 'roundtable-anchor' lines collected from Discord")
    verify.set_defaults(func=_cmd_verify)

    export = sub.add_parser("export", help="write a guild's sealed decision records, one file each")
    export.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    export.add_argument("--format", choices=("markdown", "json", "zip"), default="markdown")
    export.add_argument("--out", required=True, help="the directory to write into")
    export.add_argument("--db", help=DB_HELP)
    export.set_defaults(func=_cmd_export)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="apply pending schema migrations")
    upgrade.add_argument("--db", help=DB_HELP)
    upgrade.set_defaults(func=_cmd_db_upgrade)
    copy = db_sub.add_parser(
        "copy",
        help="copy everything into an empty database (SQLite <-> PostgreSQL), then verify the copy",
        description="Copies every event, deliberation, record, key and post, events first, into an empty "
        "database, and ends by proving the copy (as `verify` does). A target that is not empty is refused.",
    )
    copy.add_argument("--from", dest="source", required=True, help="the database to copy (a path or URL)")
    copy.add_argument("--to", dest="target", required=True, help="an empty database (a URL, or a new SQLite file)")
    copy.set_defaults(func=_cmd_db_copy)

    archive = sub.add_parser(
        "archive",
        help="the archive as a static web site: build it, or serve it",
        description="A guild's sealed decision records as a self-contained, searchable web site.",
    )
    archive_sub = archive.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    build = archive_sub.add_parser(
        "build", help="write the site into a folder (works from file:// and any static host)"
    )
    build.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    build.add_argument("--out", required=True, help="the directory to write into")
    build.add_argument("--no-charts", action="store_true", help="skip the charts (faster)")
    build.add_argument("--db", help=DB_HELP)
    build.set_defaults(func=_cmd_archive_build)
    serve = archive_sub.add_parser("serve", help="serve the site read-only on 127.0.0.1, rebuilt as records are sealed")
    serve.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    serve.add_argument("--port", type=_port, default=8080, help="port on 127.0.0.1 (default 8080; 0: any free port)")
    serve.add_argument("--out", help="where to build the site (default: a temporary directory)")
    serve.add_argument("--no-charts", action="store_true", help="skip the charts (faster)")
    serve.add_argument("--db", help=DB_HELP)
    serve.set_defaults(func=_cmd_archive_serve)

    sandbox = sub.add_parser(
        "sandbox",
        help="run the real bot offline in a simulated Discord, in your browser",
        description=(
            "Runs Roundtable inside SimCord's in-memory Discord and serves a page on 127.0.0.1 "
            "where you act as a moderator or as members, with the web archive beside it. "
            "No token, no network."
        ),
    )
    sandbox.add_argument("--port", type=_port, default=0, help="page port (default: any free port)")
    sandbox.add_argument("--open", dest="open_browser", action="store_true", help="open the page in a browser")
    sandbox.add_argument(
        "--data-dir",
        default="sandbox-data",
        help="where the sandbox keeps its database between sessions (default: sandbox-data)",
    )
    sandbox.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="how much faster than real time the sandbox clock runs (e.g. 60: a minute a second)",
    )
    sandbox.add_argument(
        "--demo",
        action="store_true",
        help="start with a sealed deliberation and one open in its dissent round (on a fresh data dir)",
    )
    sandbox.set_defaults(func=_cmd_sandbox)

    add_polis_commands(sub)
    polis = sub.choices["polis"].get_default("polis_subparsers")
    polis_import = polis.add_parser(
        "import", help="replay a Polis export into a new deliberation (statements and votes)"
    )
    polis_import.add_argument("directory", type=Path, help="export directory (comments.csv, votes.csv)")
    polis_import.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id to hold it")
    polis_import.add_argument("--moderator", type=int, default=0, help="the moderator's Discord user id (default 0)")
    polis_import.add_argument("--db", help=DB_HELP)
    polis_import.set_defaults(func=_cmd_polis_import)
    polis_export = polis.add_parser("export", help="write a deliberation's statements and votes as Polis CSV")
    polis_export.add_argument("--guild", type=int, required=True, help="the Discord server (guild) id")
    polis_export.add_argument("--deliberation", type=int, required=True, help="the deliberation id")
    polis_export.add_argument("--out", type=Path, required=True, help="the directory to write into")
    polis_export.add_argument("--db", help=DB_HELP)
    polis_export.set_defaults(func=_cmd_polis_export)
    _with_exit_codes(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CommandError as error:
        print(error, file=sys.stderr)
        return error.code
    except (OSError, sqlite3.Error) as error:
        # A path that is a file where a folder is needed, a folder that cannot be made, a file
        # SQLite cannot read, a PostgreSQL server that cannot be reached: one line, not a traceback.
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        from bot.engine.errors import StorageUnavailable

        if isinstance(error, StorageUnavailable):  # the stores' name for the errors above
            cause = error.__cause__ or error
            print(f"{type(cause).__name__}: {cause}", file=sys.stderr)
            return 2
        # PostgreSQL's refusals (no such database, a wrong password, no such role): one line too.
        if type(error).__module__.startswith("asyncpg"):
            print(f"The database refused: {type(error).__name__}: {error}", file=sys.stderr)
            return 2
        raise
