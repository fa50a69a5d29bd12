"""Polis interchange through the real path: a Polis export replayed into a deliberation, and back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.analysis import analyze
from bot.analysis.polis_export import ari_against_polis, read_polis_export
from bot.config import Settings
from bot.engine import Actor, Vote, errors
from bot.polis import ReplayClock, export_polis, import_polis
from bot.service import Roundtable
from bot.votes import moderated_out, statement_votes
from tests.test_cli_ops import cli

POLIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "polis"
SEATTLE = POLIS / "15-per-hour-seattle"
MOD = Actor.human(999, "Importer")


async def test_an_imported_conversation_analyses_exactly_like_the_export(settings: Settings) -> None:
    clock = ReplayClock(datetime.now(UTC))
    rt = await Roundtable.open(settings, clock)
    try:
        report = await import_polis(rt, clock, SEATTLE, guild_id=1, moderator=MOD)
        d = await rt.get(1, report.deliberation_id)
        export = read_polis_export(SEATTLE)
        assert report.statements == len(export.comments)
        assert report.moderated_out == sum(1 for c in export.comments if c.moderated < 0) == len(d.moderated_out)
        ours = analyze(statement_votes(d), moderated_out(d))
        raw = analyze(export.votes, export.moderated_out)
        groups = {int(str(key).split(":")[1]): g for key, g in ours.assignments.items()}
        assert ours.k == raw.k == 2
        assert ari_against_polis(export, groups) == pytest.approx(ari_against_polis(export, raw.assignments))
        assert ari_against_polis(export, groups) > 0.99
        assert await rt.store.verify() == []
        with pytest.raises(errors.InvalidValue, match="moderated out"):
            await rt.act(1, d.id, lambda d, at: d.vote(Actor.human(5, "x"), min(d.moderated_out), Vote.AGREE, at))
    finally:
        await rt.close()


def test_import_then_export_through_the_cli_round_trips(tmp_path: Path) -> None:
    db = tmp_path / "rt.sqlite3"
    imported = cli("polis", "import", str(SEATTLE), "--guild", "42", "--db", str(db), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "as deliberation #1" in imported.stdout
    out = tmp_path / "out"
    exported = cli(
        "polis", "export", "--guild", "42", "--deliberation", "1", "--out", str(out), "--db", str(db), cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    again, original = read_polis_export(out), read_polis_export(SEATTLE)
    assert len(again.comments) == len(original.comments)
    latest = {(v.participant_id, v.statement_id): v.vote for v in original.votes}
    assert len({(v.participant_id, v.statement_id) for v in again.votes}) == len(latest)
    assert sorted(latest.values()).count(1) == sum(1 for c in again.comments for _ in range(c.agrees))
    wrong_guild = cli(
        "polis", "export", "--guild", "7", "--deliberation", "1", "--out", str(out), "--db", str(db), cwd=tmp_path
    )
    assert wrong_guild.returncode == 1
    assert "no deliberation #1" in wrong_guild.stderr


def test_export_writes_no_member_names(tmp_path: Path) -> None:
    from tests.engine.helpers import ADA, BEN, Table

    t = Table()
    t.do("state_position", ADA, "Yes", "Fridays")
    t.wait(11)
    t.advance()
    sid = t.do("state_statement", BEN, "Evenings are better")[-1].payload.id
    t.do("vote", ADA, sid, Vote.DISAGREE)
    export_polis(t.d, tmp_path)
    text = (tmp_path / "comments.csv").read_text() + (tmp_path / "votes.csv").read_text()
    assert "Evenings are better" in text
    assert "Ada" not in text
    assert "Ben" not in text
    assert read_polis_export(tmp_path).votes[0].vote == -1
