"""Shared fixtures: a real SQLite file per test, settings built in code, a clock that moves when told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import Roundtable


class ManualClock:
    """Time that only moves when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "roundtable.sqlite3"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings.load(
        read_env=False,
        database={"path": db_path},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )


@pytest.fixture
async def roundtable(settings: Settings, clock: ManualClock) -> AsyncIterator[Roundtable]:
    service = await Roundtable.open(settings, clock)
    yield service
    await service.close()
