"""`polis analyze DIR` registered through add_commands prints the promised JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.analysis.cli import add_commands


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="bot")
    add_commands(root.add_subparsers(dest="command"))
    return root


def test_polis_analyze_prints_json(polis_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["polis", "analyze", str(polis_dir / "15-per-hour-seattle")])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"k", "groups", "consensus", "divisive", "left_out"} <= set(report)
    assert report["k"] == 2
    assert len(report["groups"]) + len(report["left_out"]) == 339
    assert all(isinstance(v, str) for v in report["left_out"].values())


def test_polis_analyze_rejects_a_directory_without_an_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parser().parse_args(["polis", "analyze", str(tmp_path)])
    assert args.func(args) == 2
    assert "votes.csv" in capsys.readouterr().err


def test_polis_needs_a_subcommand() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["polis"])
