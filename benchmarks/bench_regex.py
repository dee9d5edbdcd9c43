"""Adversarial inputs at growing length: the time to analyse a message must grow linearly.

Each family is a hostile message shape (a 2,000-letter mixed-script word, "1," ten thousand
times, a quote header with a huge line, ...). Every family runs at 1×, 4× and 16× its base
length (16× stays within the 20,000-character limit); the growth exponent is
log(t16 / t1) / log 16: 1.0 is linear, 2.0 quadratic. Exits 1 if any family grows faster
than `--max-exponent` (default 1.3), so CI or a reviewer can run it as a check.

    python benchmarks/bench_regex.py [--max-exponent 1.3] [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

from custtype.model.classifier import MAX_CHARS
from custtype.text.analysis import analyze
from custtype.text.quotes import strip_quoted

# name → message of about `n` characters
FAMILIES: dict[str, Callable[[int], str]] = {
    "mixed-script word": lambda n: "ж" * n + " a",
    "alternating scripts": lambda n: "жa" * (n // 2),
    "comma digits": lambda n: "1," * (n // 2),
    "spaced digits": lambda n: "1 " * (n // 2),
    "currency runs": lambda n: "$1," * (n // 3),
    "phone-like": lambda n: "1(" * (n // 2),
    "at signs": lambda n: "a@" * (n // 2),
    "www runs": lambda n: "www." * (n // 4),
    "long word with cue prefix": lambda n: "постоянн" + "а" * n + " клиент",
    "emoticon soup": lambda n: ":(" * (n // 2),
    "punctuation": lambda n: "!?" * (n // 2),
    "quote header line": lambda n: "Where?\nOn " + "x" * n + " wrote:\n> hi",
    "quoted lines": lambda n: "Where?\n" + "> a\n" * (n // 4),
    "blank lines": lambda n: "Gdzie paczka?" + "\n" * n,
}


def _time(text: str, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        analyze(strip_quoted(text).text)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--max-exponent", type=float, default=1.3)
    ap.add_argument("--repeat", type=int, default=5, help="runs per size (fastest kept)")
    args = ap.parse_args()
    base = MAX_CHARS // 16 - 20
    analyze("warm up the tokenizers and lexicons", "en")
    analyze("прогрев", "ru")
    worst = 0.0
    print(f"{'family':<26} | {'1x ms':>8} | {'4x ms':>8} | {'16x ms':>8} | exponent")
    for name, make in FAMILIES.items():
        times = [_time(make(base * k)[:MAX_CHARS], args.repeat) for k in (1, 4, 16)]
        exponent = math.log(max(times[2], 1e-6) / max(times[0], 1e-6)) / math.log(16)
        worst = max(worst, exponent)
        print(
            f"{name:<26} | {times[0] * 1e3:>8.2f} | {times[1] * 1e3:>8.2f} | "
            f"{times[2] * 1e3:>8.2f} | {exponent:.2f}"
        )
    print(f"worst exponent {worst:.2f} (limit {args.max_exponent})")
    return 0 if worst <= args.max_exponent else 1


if __name__ == "__main__":
    sys.exit(main())
