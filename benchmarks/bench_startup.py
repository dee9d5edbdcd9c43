"""Start-up: wall time of `custtype classify` per language in a fresh process, and of
`custtype serve` until /readyz answers 200.

Each language's message runs `--repeat` times (median reported) in a new process, as a
user's first command does. The Polish one used to decode simplemma's whole dictionary
(3.7 M forms) before its first lemma; the model's own lemma table replaced that.

Each command runs twice per round, alternating: as the first start on a machine (an empty
regex cache, text/regex_cache.py) and as a later one (the cache filled by earlier runs).
"saved" is the median of the rounds' differences.

    python benchmarks/bench_startup.py [--repeat 5] [--serve]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

CLI = str(Path(sys.executable).parent / "custtype")
MESSAGES = {
    "ru": "Где мой заказ? Жду уже неделю, сколько можно!",
    "pl": "Gdzie jest moja paczka? Czekam już tydzień, ile można!",
    "en": "Where is my parcel? I have been waiting a week, how much longer!",
}


def classify_seconds(text: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([CLI, "classify", text], check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def serve_ready_seconds(workers: int | None, env: dict[str, str]) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [CLI, "serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    started = time.perf_counter()
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
            if time.perf_counter() - started > 120:
                raise RuntimeError("the server did not get ready in 120 s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def first_and_later(run: Callable[[dict[str, str]], float], repeat: int) -> tuple[list[float], ...]:
    """Alternating rounds: a run with an empty regex cache, then one with a filled cache."""
    first, later = [], []
    with tempfile.TemporaryDirectory() as kept:
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as empty:
                first.append(run({**os.environ, "CUSTTYPE_CACHE_DIR": empty}))
            later.append(run({**os.environ, "CUSTTYPE_CACHE_DIR": kept}))
    return first, later


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--serve", action="store_true", help="also time `custtype serve` to ready")
    args = ap.parse_args()
    head = f"{'command':<34} | {'start':<5} | {'median s':>8} | {'min s':>6} | {'max s':>6}"
    print(f"{head} | {'saved s':>7}")
    runs: dict[str, Callable[[dict[str, str]], float]] = {
        f"custtype classify ({lang})": lambda env, t=text: classify_seconds(t, env)
        for lang, text in MESSAGES.items()
    }
    if args.serve:
        runs["custtype serve to ready (default)"] = lambda env: serve_ready_seconds(None, env)
        runs["custtype serve to ready (1 worker)"] = lambda env: serve_ready_seconds(1, env)
    for label, run in runs.items():
        first, later = first_and_later(run, args.repeat)
        saved = statistics.median(a - b for a, b in zip(first, later, strict=True))
        for start, times in (("first", first), ("later", later)):
            print(
                f"{label:<34} | {start:<5} | {statistics.median(times):>8.2f} | "
                f"{min(times):>6.2f} | {max(times):>6.2f} | "
                + (f"{saved:>7.2f}" if start == "later" else f"{'':>7}")
            )


if __name__ == "__main__":
    main()
