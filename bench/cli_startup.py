"""``shopkit --help`` start-up time beside ``python -c pass``, with the ratio.

    uv run python bench/cli_startup.py [--runs N] [--before SRC]

Default 20 runs each, interleaved. ``--before SRC`` adds the same ``--help`` run from another
source tree (e.g. ``git archive <old commit> src | tar -x -C /tmp/old`` then
``--before /tmp/old/src``), put first on ``PYTHONPATH``, to compare in one run under the same
load.

Runs the installed console script (``.venv/bin/shopkit --help``, as a user types it) and the
same interpreter's ``python -c pass`` alternately, N times each, output to /dev/null, and
prints the median and the fastest run of each with the ratio of medians (goal: shopkit's
median <= 250 ms, issue #11). Also times ``python -c "import shopkit_cli.main"`` to show what
the import alone costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RUN = "import sys; sys.argv[0] = 'shopkit'; from shopkit_cli.main import run; run()"


def once(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", type=Path, help="another tree's src/ to time beside")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("shopkit")
    shopkit = [str(script)] if script.exists() else [shutil.which("shopkit") or "shopkit"]
    cases = {
        "shopkit --help": [*shopkit, "--help"],
        "python -c 'import shopkit_cli.main'": [sys.executable, "-c", "import shopkit_cli.main"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    # Bytecode is cached as on a user's machine (this workplace's shell sets
    # PYTHONDONTWRITEBYTECODE, which would make every run compile its imports).
    plain = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    envs: dict[str, dict[str, str] | None] = dict.fromkeys(cases, plain)
    if args.before is not None:
        name = f"shopkit --help from {args.before}"
        cases[name] = [sys.executable, "-c", RUN, "--help"]
        envs[name] = {**plain, "PYTHONPATH": str(args.before.resolve())}
    for name, cmd in cases.items():  # warm the OS caches and the .pyc files
        once(cmd, envs.get(name))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():
            times[name].append(once(cmd, envs.get(name)))
    median = {name: statistics.median(t) * 1000 for name, t in times.items()}
    base = median["python -c pass"]
    print(f"# `shopkit --help` start-up, {args.runs} interleaved runs each")
    print()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} "
          f"cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    print()
    print("| command | median ms | fastest ms | ratio to `python -c pass` |")
    print("| --- | ---: | ---: | ---: |")
    for name, t in times.items():
        print(f"| `{name}` | {median[name]:.0f} | {min(t) * 1000:.0f} | "
              f"{median[name] / base:.1f}x |")
    print()
    verdict = "meets" if median["shopkit --help"] <= 250 else "misses"
    print(f"shopkit --help median {median['shopkit --help']:.0f} ms: {verdict} the 250 ms goal")


if __name__ == "__main__":
    main()
