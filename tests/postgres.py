"""A throwaway PostgreSQL server for the tests and benchmarks: Debian's postgresql-15 binaries,
a temporary data directory, a unix socket in a temporary directory, run as an unprivileged user.

Nothing here relies on a server left running: `PostgresServer` initdb's, starts, and `stop()`
stops and deletes everything. A missing PostgreSQL is an error (`make postgres` installs it),
never a reason to skip.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(os.environ.get("ROUNDTABLE_PG_BIN", "/usr/lib/postgresql/15/bin"))
MISSING = (
    f"PostgreSQL 15 is not installed ({BIN / 'initdb'} is missing): the store, service and CLI tests run "
    "against it too. Install it with `make postgres` (Debian's package postgresql-15)."
)


class PostgresUnavailable(RuntimeError):
    pass


def _unprivileged_user() -> str | None:
    """initdb refuses root: as root, run the server as `postgres` (Debian's package makes it)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root and there is no `postgres` user to run the server as") from None
    return "postgres"


class PostgresServer:
    """One server; `url(db)` names a database on it; `create_database()` makes a fresh one."""

    def __init__(self, *, fast: bool = True) -> None:
        if not (BIN / "initdb").is_file():
            raise PostgresUnavailable(MISSING)
        self.user = _unprivileged_user()
        self.root = Path(tempfile.mkdtemp(prefix="roundtable-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.socket_dir.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            self.root.chmod(0o755)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.role = self.user or pwd.getpwuid(os.geteuid()).pw_name
        self._names = itertools.count(1)
        self._fast = fast
        self._started = False
        self._options = ""

    def _run(self, *argv: str) -> None:
        command = [*(["runuser", "-u", self.user, "--"] if self.user else []), *argv]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(argv[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> PostgresServer:
        initdb = [str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-E", "UTF8", "--no-locale"]
        self._run(*initdb, "-U", self.role)
        options = f"-k {self.socket_dir} -c listen_addresses='' -c max_connections=200"
        if self._fast:
            # Throwaway data: durability is not what these tests measure (the store's own
            # transactions are); the benchmark starts the server with the defaults.
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._options = options
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its data directory (again, after `crash`: it recovers from its WAL)."""
        pg_ctl = str(BIN / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-o", self._options, "-w", "start")
        self._started = True

    def crash(self) -> None:
        """Stop the server as a crash would (`pg_ctl stop -m immediate`: no shutdown checkpoint,
        every connection cut), keeping its data for `resume`. For a test's private server only."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self._started = False

    def stop(self) -> None:
        try:
            if self._started:
                self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
                self._started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.role}@/{database}?host={self.socket_dir}"

    def create_database(self, *, template: str | None = None, name: str | None = None) -> str:
        """A new, empty database (copied from `template` when given); returns its URL."""
        name = name or f"rt_{os.getpid()}_{next(self._names)}"
        argv = [str(BIN / "createdb"), "-h", str(self.socket_dir), "-U", self.role]
        self._run(*argv, *(["-T", template] if template else []), name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._run(str(BIN / "dropdb"), "-h", str(self.socket_dir), "-U", self.role, "--force", name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def private_server() -> Iterator[PostgresServer]:
    """A test's own server, to crash and start again (the session's must never be). Durable, not
    the session's `fast` settings: with `synchronous_commit = off` a crash loses the last commits,
    as it would in production with that setting."""
    server = PostgresServer(fast=False)
    try:
        server.start()
        yield server
    finally:
        server.stop()
