"""Run every benchmark in turn; each rewrites its own section of docs/benchmarks.md.

python -m bench                 # all of them (the AI bench alone takes about 12 minutes)
python -m bench store discord   # some of them
"""

from __future__ import annotations

import subprocess
import sys

BENCHES = {
    "store": "bench.store_bench",
    "verify": "bench.verify_bench",
    "discord": "bench.discord_bench",
    "scale": "bench.scale_bench",
    "concurrency": "bench.concurrency_bench",
    "polis": "bench.polis_bench",
    "cli": "bench.cli_bench",
    "postgresql": "bench.pg_bench",
    "records": "bench.records_bench",
    "shards": "bench.shards_bench",
    "ai": "bench.ai_bench",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        result = subprocess.run([sys.executable, "-m", BENCHES[name]], check=False)
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
