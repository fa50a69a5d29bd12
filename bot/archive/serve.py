"""`python -m bot archive serve`: the archive's pages, read-only, on 127.0.0.1, rebuilt as records are sealed.

The server only reads the folder the site is built into (GET and HEAD; no listing, nothing
outside the folder). A poller opens the database read-only now and then and rebuilds the site
when the set of sealed records changed; the bot may be running against the same file (WAL lets
readers and the writer work at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bot.archive.site import BuildReport, build_archive
from bot.store import Store

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _resolve(root: Path, tail: str) -> Path | None:
    """The file under `root` a request path names, or None (outside the folder, hidden, missing)."""
    parts = [p for p in tail.split("/") if p]
    if any(p.startswith(".") for p in parts):
        return None
    target = (root / "/".join(parts)) if parts else root / "index.html"
    try:
        resolved = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if root.resolve() not in resolved.parents or not resolved.is_file():
        return None
    return resolved


def make_app(root: Path) -> web.Application:
    """An aiohttp app serving the built site in `root`, read-only."""

    async def page(request: web.Request) -> web.StreamResponse:
        found = _resolve(root, request.match_info["tail"])
        if found is None:
            raise web.HTTPNotFound(text="No such page in the archive.", headers=SECURITY_HEADERS)
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        if found.suffix == ".md":
            kind = "text/markdown"
        return web.Response(
            body=found.read_bytes(),
            content_type=kind,
            charset="utf-8" if kind.startswith("text/") or kind.endswith(("json", "javascript")) else None,
            headers=SECURITY_HEADERS,
        )

    app = web.Application()
    # GET only (aiohttp answers HEAD for GET routes); anything else is 405.
    app.router.add_get("/{tail:.*}", page)
    return app


@dataclass
class ArchiveServer:
    """Serves `out` on 127.0.0.1 and rebuilds it from the database at `db` as records are sealed."""

    db: Path
    guild_id: int
    out: Path
    host: str = "127.0.0.1"
    port: int = 0
    poll_seconds: float = POLL_SECONDS
    charts: bool = True
    # How many times the site was built, and the last build's report.
    builds: int = field(default=0, init=False)
    last: BuildReport | None = field(default=None, init=False)
    _state: tuple[int, int] | None = field(default=None, init=False, repr=False)
    _runner: web.AppRunner | None = field(default=None, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._built = asyncio.Condition()
        if self.host not in LOOPBACK:
            raise ValueError("the archive is served on 127.0.0.1 only")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        await self.rebuild_if_changed()
        self._runner = web.AppRunner(make_app(self.out), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        # The bound port, when 0 (any free port) was asked for.
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._task = asyncio.create_task(self._poll(), name="roundtable-archive-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for_records(self, count: int, seconds: float) -> None:
        """Wait until the served site holds at least `count` records (tests use it)."""
        async with asyncio.timeout(seconds), self._built:
            await self._built.wait_for(lambda: self.last is not None and self.last.records >= count)

    async def rebuild_if_changed(self) -> bool:
        store = await Store.open(self.db, migrate=False)
        try:
            # Sealed records are never rewritten, so a new one changes the count of records (a
            # record of another guild only costs a needless rebuild); two cheap queries.
            newest = await store.list_records(self.guild_id, limit=1)
            state = ((await store.counts())["records"], newest[0].deliberation_id if newest else 0)
            if state == self._state:
                return False
            self.last = await build_archive(store, self.guild_id, self.out, charts=self.charts)
        finally:
            await store.close()
        self._state = state
        self.builds += 1
        async with self._built:
            self._built.notify_all()
        log.info("Archive rebuilt: %s record(s) in %s", self.last.records, self.out)
        return True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.rebuild_if_changed()
            except Exception:  # a failed rebuild keeps the last good site; try again next time
                log.exception("Archive rebuild failed")


__all__ = ["ArchiveServer", "make_app"]
