"""Start-up: wall time of `custtype classify` per language in a fresh process, and of
`custtype serve` until /readyz answers 200.

Each language's message runs `--repeat` times (median reported) in a new process, as a
user's first command does. The Polish one used to decode simplemma's whole dictionary
(3.7 M forms) before its first lemma; the model's own lemma table replaced that.

Each command runs twice per round, alternating: as the first start on a machine (an empty
regex cache, text/regex_cache.py) and as a later one (the cache filled by a run before the
rounds). "later gains" is the median of the rounds' differences against the later start. With
`--against DIR` each round also runs the code checked out in DIR first ("before").

    python benchmarks/bench_startup.py [--repeat 5] [--serve] [--against ../old]
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


def _env_of(checkout: Path) -> dict[str, str]:
    """This environment running the code and the newest model of another checkout."""
    models = sorted(p for p in (checkout / "models").iterdir() if (p / "model_card.json").is_file())
    return {**os.environ, "PYTHONPATH": str(checkout / "src"), "CUSTTYPE_MODEL": str(models[-1])}


def rounds(
    run: Callable[[dict[str, str]], float], repeat: int, against: Path | None
) -> dict[str, list[float]]:
    """Alternating rounds: the code at `against` (if given), this code with an empty regex
    cache, then with a filled one."""
    series: dict[str, list[float]] = {"before": [], "first": [], "later": []}
    with tempfile.TemporaryDirectory() as kept:
        run({**os.environ, "CUSTTYPE_CACHE_DIR": kept})  # fills it: every "later" run reads
        for _ in range(repeat):
            if against:
                series["before"].append(run(_env_of(against)))
            with tempfile.TemporaryDirectory() as empty:
                series["first"].append(run({**os.environ, "CUSTTYPE_CACHE_DIR": empty}))
            series["later"].append(run({**os.environ, "CUSTTYPE_CACHE_DIR": kept}))
    return {name: times for name, times in series.items() if times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--serve", action="store_true", help="also time `custtype serve` to ready")
    ap.add_argument(
        "--against",
        type=Path,
        help="a checkout of other code (e.g. `git worktree add ../old COMMIT`), run in the "
        "same rounds with this environment",
    )
    args = ap.parse_args()
    head = f"{'command':<34} | {'start':<6} | {'median s':>8} | {'min s':>6} | {'max s':>6}"
    print(f"{head} | {'later gains s':>13}")
    runs: dict[str, Callable[[dict[str, str]], float]] = {
        f"custtype classify ({lang})": lambda env, t=text: classify_seconds(t, env)
        for lang, text in MESSAGES.items()
    }
    if args.serve:
        runs["custtype serve to ready (default)"] = lambda env: serve_ready_seconds(None, env)
        runs["custtype serve to ready (1 worker)"] = lambda env: serve_ready_seconds(1, env)
    for label, run in runs.items():
        series = rounds(run, args.repeat, args.against)
        for start, times in series.items():
            pairs = zip(times, series["later"], strict=True)
            gain = (
                f"{statistics.median(a - b for a, b in pairs):>13.2f}" if start != "later" else ""
            )
            print(
                f"{label:<34} | {start:<6} | {statistics.median(times):>8.2f} | "
                f"{min(times):>6.2f} | {max(times):>6.2f} | {gain}"
            )


if __name__ == "__main__":
    main()
