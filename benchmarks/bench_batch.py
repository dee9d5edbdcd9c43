"""Batch scoring benchmark: msg/s and peak memory of `custtype score`, against a bare
scikit-learn TF-IDF + logistic regression reference, on rows built from the real corpus.

Each configuration runs `custtype score` in a fresh process; the peak resident memory of
that process and all its children (pool workers, Dask workers) is sampled every 0.2 s.
Throughput is end to end: rows / wall time, start-up and model loading included.

    python benchmarks/bench_batch.py                 # quick: 20,000 rows
    python benchmarks/bench_batch.py --full          # 500,000 rows, and 100k vs 1M for memory
                                                     # (evidence on: local2 only, ~40 min)
    python benchmarks/bench_batch.py --rows 50000 --configs local1,local2 --evidence off

Input and output files go to a temporary folder (the corpus is never copied into the repo).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
CONFIGS = {
    "local1": ["--jobs", "1"],
    "local2": ["--jobs", "2"],
    "dask2": ["--engine", "dask", "--jobs", "2"],
    "local2-lang": ["--jobs", "2", "--lang-column", "lang"],
}


@dataclass
class Result:
    name: str
    rows: int
    evidence: bool
    seconds: float
    peak_mb: float
    load: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def corpus_texts() -> list[dict[str, str]]:
    """The 9,000 real messages (ru, pl, en) from ../shared/corpus."""
    rows = []
    for lang in ("ru", "pl", "en"):
        with (CORPUS / f"real_{lang}.jsonl").open(encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


def build_input(path: Path, n: int, corpus: Sequence[dict[str, str]]) -> float:
    """Write `n` rows (the corpus repeated, interleaved by language) as CSV; mean length."""
    import pandas as pd

    order = sorted(range(len(corpus)), key=lambda i: (i % 3000, i // 3000))
    chunk = 100_000
    total = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        for start in range(0, n, chunk):
            idx = [order[i % len(order)] for i in range(start, min(n, start + chunk))]
            frame = pd.DataFrame(
                {
                    "id": [f"r{start + k}" for k in range(len(idx))],
                    "source_id": [corpus[i]["id"] for i in idx],
                    "lang": [corpus[i]["lang"] for i in idx],
                    "text": [corpus[i]["text"] for i in idx],
                }
            )
            total += int(frame["text"].str.len().sum())
            frame.to_csv(fh, index=False, header=start == 0)
    return total / n


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_config(name: str, src: Path, out_dir: Path, rows: int, evidence: bool) -> Result:
    """Run `custtype score` once in a fresh process; wall time and peak tree RSS."""
    out = out_dir / f"{name}-{'ev' if evidence else 'noev'}-{rows}.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "custtype.cli",
        "score",
        str(src),
        "-o",
        str(out),
        "--no-progress",
        "--evidence" if evidence else "--no-evidence",
        *CONFIGS[name],
    ]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(ps))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{err}")
    with out.open("rb") as fh:
        written = sum(1 for _ in fh)
    assert written == rows, f"{name}: {written} rows written for {rows} rows in"
    out.unlink()
    load = max(load, os.getloadavg()[0])
    return Result(name, rows, evidence, seconds, peak / 2**20, load)


def bare_reference(corpus: Sequence[dict[str, str]], n: int) -> tuple[float, float]:
    """(msg/s, peak MB) of TF-IDF word 1-2 + char 2-5 + logistic regression, one core."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    train = []
    for path in sorted((ROOT / "training_data" / "train").glob("*.jsonl")):
        train += [json.loads(line) for line in path.open(encoding="utf-8")]
    model = make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        ),
        LogisticRegression(max_iter=300),
    )
    model.fit([r["text"] for r in train], [r["label"] for r in train])
    texts = [corpus[i % len(corpus)]["text"] for i in range(n)]
    started = time.perf_counter()
    for i in range(0, n, 1000):
        model.predict(texts[i : i + 1000])
    seconds = time.perf_counter() - started
    return n / seconds, psutil.Process().memory_info().rss / 2**20


def custtype_in_process(corpus: Sequence[dict[str, str]], n: int) -> dict[str, float]:
    """msg/s of Classifier.predict in this process, one core, on the same texts, after one
    warm-up pass (as in a long batch run): evidence off, on, and off with the language given."""
    from custtype import Classifier
    from custtype.model.memory import freeze_memory

    clf = Classifier.load()
    freeze_memory()  # as the batch workers do
    texts = [corpus[i % len(corpus)]["text"] for i in range(n)]
    langs = [corpus[i % len(corpus)]["lang"] for i in range(n)]
    for i in range(0, n, 1000):  # warm-up: word caches, lazy models
        clf.predict(texts[i : i + 1000], explain_evidence=False)
    rates = {}
    for name, evidence, lang in (
        ("evidence off", False, None),
        ("evidence on", True, None),
        ("evidence off, language given", False, langs),
    ):
        started = time.perf_counter()
        for i in range(0, n, 1000):
            clf.predict(
                texts[i : i + 1000],
                lang=lang[i : i + 1000] if lang else None,
                explain_evidence=evidence,
            )
        rates[name] = n / (time.perf_counter() - started)
    return rates


def table(results: Sequence[Result]) -> str:
    lines = [
        "| run | rows | evidence | wall s | msg/s | msg/s per core | peak RSS MB | load |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cores = 1 if r.name == "local1" else 2
        name = r.name
        lines.append(
            f"| {name} | {r.rows:,} | {'on' if r.evidence else 'off'} | "
            f"{r.seconds:,.0f} | {r.rate:,.0f} | {r.rate / cores:,.0f} | "
            f"{r.peak_mb:,.0f} | {r.load:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000, help="rows per run (default 20,000)")
    ap.add_argument("--full", action="store_true", help="500,000 rows; memory at 100k and 1M")
    ap.add_argument("--configs", default=None, help="default: all; --full: local1,local2,dask2")
    ap.add_argument("--evidence", choices=["on", "off", "both"], default="both")
    ap.add_argument("--memory-rows", default="", help="e.g. 100000,1000000 (local2, no evidence)")
    ap.add_argument("--reference-rows", type=int, default=9_000)
    args = ap.parse_args()
    rows = 500_000 if args.full else args.rows
    configs = (args.configs or ("local1,local2,dask2" if args.full else ",".join(CONFIGS))).split(
        ","
    )
    memory_rows = [
        int(x)
        for x in (args.memory_rows or ("100000,1000000" if args.full else "")).split(",")
        if x
    ]
    corpus = corpus_texts()
    print(
        f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
        flush=True,
    )
    ref_rate, ref_mb = bare_reference(corpus, args.reference_rows)
    print(
        f"bare sklearn TF-IDF(word 1-2 + char 2-5)+LR, 1 core: {ref_rate:,.0f} msg/s "
        f"(process RSS {ref_mb:,.0f} MB)",
        flush=True,
    )
    for name, rate in custtype_in_process(corpus, args.reference_rows).items():
        print(
            f"custtype Classifier.predict in process, 1 core, {name}: {rate:,.0f} msg/s = "
            f"{rate / ref_rate:.2f}x the bare reference",
            flush=True,
        )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="custtype-bench-") as tmp:
        work = Path(tmp)
        src = work / f"in-{rows}.csv"
        mean = build_input(src, rows, corpus)
        print(
            f"input: {rows:,} rows, mean {mean:.0f} chars, {src.stat().st_size / 2**20:,.0f} MB",
            flush=True,
        )
        evidences = {"on": [True], "off": [False], "both": [False, True]}[args.evidence]
        runs = [(name, ev) for ev in evidences for name in configs]
        if args.full and args.evidence == "both":  # evidence's cost, shown once: 2 jobs
            runs = [(name, False) for name in configs] + [("local2", True)]
        for name, ev in runs:
            results.append(run_config(name, src, work, rows, ev))
            print(table(results[-1:]).splitlines()[-1], flush=True)
        src.unlink()
        for n in memory_rows:
            path = work / f"in-{n}.csv"
            build_input(path, n, corpus)
            results.append(run_config("local2", path, work, n, False))
            print(table(results[-1:]).splitlines()[-1], flush=True)
            path.unlink()
    print()
    print(table(results))


if __name__ == "__main__":
    main()
