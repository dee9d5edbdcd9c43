"""Start-up: wall time of `custtype classify` per language in a fresh process, and of
`custtype serve` until /readyz answers 200.

Each language's message runs `--repeat` times (median reported) in a new process, as a
user's first command does. The Polish one used to decode simplemma's whole dictionary
(3.7 M forms) before its first lemma; the model's own lemma table replaced that.

    python benchmarks/bench_startup.py [--repeat 5] [--serve]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CLI = str(Path(sys.executable).parent / "custtype")
MESSAGES = {
    "ru": "Где мой заказ? Жду уже неделю, сколько можно!",
    "pl": "Gdzie jest moja paczka? Czekam już tydzień, ile można!",
    "en": "Where is my parcel? I have been waiting a week, how much longer!",
}


def classify_seconds(text: str) -> float:
    started = time.perf_counter()
    subprocess.run([CLI, "classify", text], check=True, capture_output=True)
    return time.perf_counter() - started


def serve_ready_seconds(workers: int | None) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [CLI, "serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    started = time.perf_counter()
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--serve", action="store_true", help="also time `custtype serve` to ready")
    args = ap.parse_args()
    print(f"{'command':<34} | {'median s':>8} | {'min s':>6} | {'max s':>6}")
    for lang, text in MESSAGES.items():
        times = [classify_seconds(text) for _ in range(args.repeat)]
        print(
            f"{'custtype classify (' + lang + ')':<34} | {statistics.median(times):>8.2f} | "
            f"{min(times):>6.2f} | {max(times):>6.2f}"
        )
    if args.serve:
        for workers in (None, 1):
            times = [serve_ready_seconds(workers) for _ in range(max(1, args.repeat // 2))]
            label = "custtype serve to ready" + (" (1 worker)" if workers else " (default)")
            print(
                f"{label:<34} | {statistics.median(times):>8.2f} | {min(times):>6.2f} | "
                f"{max(times):>6.2f}"
            )


if __name__ == "__main__":
    main()
