"""A representative handful of the simulator's flows, the real bot end to end, on PostgreSQL.

The same test functions as on SQLite (imported from their modules), with this module's
`backend` fixture choosing a fresh PostgreSQL database: a consent deliberation to its sealed
record, a restart mid-round, deadlines restored and fired after a restart, and the outbox
through a Discord outage. The rest of the simulator suite runs on SQLite only, to keep the
suite's time in bounds; the store and service tests cover PostgreSQL row by row.
"""

from __future__ import annotations

import pytest
from test_deadlines import (  # type: ignore[import-not-found]
    due,  # noqa: F401 - the fixture these deadline tests use
    test_a_round_that_ran_out_while_the_bot_was_down_closes_on_start,
)
from test_deliberation_flow import (  # type: ignore[import-not-found]
    test_a_consent_deliberation_from_start_to_the_sealed_record,
)
from test_deliberation_rules import (  # type: ignore[import-not-found]
    test_a_restart_mid_round_loses_nothing_and_old_buttons_work,
)
from test_outbox import (  # type: ignore[import-not-found]
    test_a_position_stored_while_discord_fails_is_told_truthfully_and_appears_once_discord_is_back,
    test_a_record_sealed_during_an_outage_is_posted_in_the_thread_and_archive_after_a_restart,
)

from bot.config import Settings

__all__ = [
    "test_a_consent_deliberation_from_start_to_the_sealed_record",
    "test_a_position_stored_while_discord_fails_is_told_truthfully_and_appears_once_discord_is_back",
    "test_a_record_sealed_during_an_outage_is_posted_in_the_thread_and_archive_after_a_restart",
    "test_a_restart_mid_round_loses_nothing_and_old_buttons_work",
    "test_a_round_that_ran_out_while_the_bot_was_down_closes_on_start",
]


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture(autouse=True)
def _on_postgresql(settings: Settings) -> None:
    assert settings.database.database_url.is_postgresql
