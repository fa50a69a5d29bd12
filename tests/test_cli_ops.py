"""The operator's CLI, run as a user would: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, OTHER_GUILD, sealed_quick, tamper

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE")}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def archive(settings: Settings, clock: ManualClock, db_path: Path) -> Path:
    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock, GUILD, "Move to Fridays?")
    await sealed_quick(rt, clock, GUILD, "Buy a projector?")
    await sealed_quick(rt, clock, OTHER_GUILD, "Another server's question")
    await rt.close()
    return db_path


def test_run_without_a_token_says_how_to_set_one(tmp_path: Path) -> None:
    result = cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "ROUNDTABLE__DISCORD__TOKEN" in result.stderr
    assert "make sandbox" in result.stderr


def test_verify_passes_then_names_the_tampered_event(archive: Path, tmp_path: Path) -> None:
    ok = cli("verify", "--db", str(archive), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    assert "3 sealed records" in ok.stdout
    tamper(archive, "UPDATE events SET payload = replace(payload, 'Shift work', 'Happy') WHERE stream = 'd:2'")
    bad = cli("verify", "--db", str(archive), cwd=tmp_path)
    assert bad.returncode == 1
    assert "NOT intact" in bad.stderr
    assert "d:2: event" in bad.stderr
    assert "consent.given" in bad.stderr


def test_export_writes_one_file_per_record_of_that_guild_only(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "export", "--guild", str(GUILD), "--format", "json", "--out", str(out), "--db", str(archive), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["decision-1.json", "decision-1.proof.json", "decision-2.json", "decision-2.proof.json"]
    record = json.loads((out / "decision-1.json").read_text())
    assert record["question"] == "Move to Fridays?"
    assert record["standing_objections"][0]["why"] == "Shift work"
    md = tmp_path / "md"
    result = cli("export", "--guild", str(GUILD), "--out", str(md), "--db", str(archive), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "> Shift work" in (md / "decision-2.md").read_text()


def test_db_upgrade_migrates_a_new_file(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite3"
    result = cli("db", "upgrade", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "schema version 0 ->" in result.stdout
    version = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]
    assert version >= 1
    again = cli("db", "upgrade", "--db", str(db), cwd=tmp_path)
    assert "up to date" in again.stdout


@pytest.mark.parametrize("command", [[], ["run"], ["verify"], ["export"], ["db", "upgrade"], ["sandbox"]])
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: python -m bot" in result.stdout
