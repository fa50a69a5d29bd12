"""The engine imports no Discord, storage or network code (STYLE.md: a pure engine)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import bot.engine

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'discord', 'aiosqlite', 'sqlite3', 'openai', 'socket', 'http'}:
            raise ImportError('the engine must not import ' + name)
        return None
sys.meta_path.insert(0, Block())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print('ok')
"""


def test_every_engine_module_imports_with_discord_and_network_blocked() -> None:
    modules = ["bot.engine"] + [f"bot.engine.{m.name}" for m in pkgutil.iter_modules(bot.engine.__path__)]
    assert len(modules) > 5
    result = subprocess.run([sys.executable, "-c", BLOCKER, *modules], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_blocker_does_catch_a_forbidden_import() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKER, "bot.store"], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "the engine must not import" in result.stderr
