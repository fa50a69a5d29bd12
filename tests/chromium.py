"""Headless Chromium (Debian's `chromium`, `make chromium`) for tests that look at pages."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1280,900",
    # Let the page's scripts run and render before the capture is taken.
    "--virtual-time-budget=10000",
)


async def chromium(profile: Path, *args: str) -> bytes:
    """Run Chromium once with `args`; returns its stdout (the DOM, for `--dump-dom`)."""
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout
