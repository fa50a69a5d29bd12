"""The analysis stays pure: importing it pulls in no Discord, storage or Discord layer."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("discord", "aiosqlite", "bot.store", "bot.exts")


def test_analysis_imports_nothing_forbidden() -> None:
    code = (
        "import sys, bot.analysis, bot.analysis.charts, bot.analysis.cli, "
        "bot.analysis.polis_export\n"
        f"bad = [m for m in sys.modules if m.startswith({FORBIDDEN!r})]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
