"""Classifier throughput, latency, size, load time and memory vs a bare scikit-learn baseline.

Both run in the same process run on the same real messages (../shared/corpus, ~540 chars on
average), on one core and on two (two worker processes, each with its own copy).
The baseline is what the issue names: TF-IDF word 1-2 + char 2-5 and logistic regression,
featurise + predict only, trained on our training data.

    python benchmarks/bench_model.py [--n 3000] [--latency 300] [--repeat 3]

Every throughput figure is the median of `--repeat` runs, each in fresh worker processes
(this machine's timings vary by ±30% from run to run).

Caches: "cold" is a fresh process on messages it has never seen; "unseen messages" has
first scored the corpus's other messages (a running service: it knows the common words, not
these messages); "warm" has scored these very messages once (a batch of repeated rows).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def _corpus() -> list[str]:
    rows: list[str] = []
    for lang in ("ru", "pl", "en"):
        with (CORPUS / f"real_{lang}.jsonl").open(encoding="utf-8") as fh:
            rows += [json.loads(line)["text"] for line in fh]
    return rows[::3] + rows[1::3] + rows[2::3]  # interleave languages


def corpus_texts(n: int) -> list[str]:
    """The first `n` corpus messages (repeated if n is larger than the corpus)."""
    rows = _corpus()
    return (rows * (n // len(rows) + 1))[:n]


def other_texts(n: int) -> list[str]:
    """Corpus messages that are not among corpus_texts(n): to warm caches on other text."""
    return _corpus()[n:]


def _baseline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from custtype.training.dataset import load_split

    rows = load_split(ROOT / "training_data", "train")
    union = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    pipe = make_pipeline(union, LogisticRegression(max_iter=2000, C=10))
    pipe.fit([r.message.text for r in rows], [r.message.label for r in rows])
    return pipe


_STATE: dict[str, Any] = {}


def _worker_init(kind: str, ready: Any) -> None:
    if kind == "custtype":
        from custtype import Classifier
        from custtype.model.memory import freeze_memory

        model = Classifier.load()
        # load the lazy parts (lingua, pymorphy3, spaCy tokenizers) and freeze, as the API
        # and batch workers do at start-up, so "cold" measures cache misses, not loading
        model.predict(["Где заказ?", "Gdzie paczka?", "Where is it?"])
        freeze_memory()
        _STATE["model"] = model
    else:
        import joblib

        _STATE["model"] = joblib.load(ROOT / "benchmarks" / ".baseline.joblib")
    ready.wait()  # every worker loaded before any takes a job: one share each


def _run(kind: str, texts: list[str], evidence: bool) -> float:
    model = _STATE["model"]
    start = time.perf_counter()
    for i in range(0, len(texts), 256):
        chunk = texts[i : i + 256]
        if kind == "custtype":
            model.predict(chunk, explain_evidence=evidence)
        else:
            model.predict_proba(chunk)
    return time.perf_counter() - start


def _chunk_job(args: tuple[str, list[str], bool]) -> tuple[float, int]:
    kind, texts, evidence = args
    elapsed = _run(kind, texts, evidence)
    return elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def throughput(
    kind: str, texts: list[str], workers: int, evidence: bool, warm: list[str] | None
) -> tuple[float, int]:
    """msg/s with `workers` processes; each worker first scores `warm` (if any) once.

    Timed inside the workers (the slowest one counts), so process start-up and model
    loading, measured on their own below, are not mixed into scoring speed.
    """
    shares = [texts[i::workers] for i in range(workers)]
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Barrier(workers)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_worker_init, initargs=(kind, ready)
    ) as pool:
        if warm:
            list(pool.map(_chunk_job, [(kind, warm, evidence) for _ in range(workers)]))
        results = list(pool.map(_chunk_job, [(kind, s, evidence) for s in shares]))
    return len(texts) / max(r[0] for r in results), max(r[1] for r in results)


def latency(texts: list[str]) -> tuple[float, float]:
    from custtype import Classifier
    from custtype.model.memory import freeze_memory

    clf = Classifier.load()
    freeze_memory()
    for t in texts:  # warm
        clf.predict([t])
    times = []
    for t in texts:
        s = time.perf_counter()
        clf.predict([t])
        times.append((time.perf_counter() - s) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def load_time(runs: int = 5) -> tuple[float, float]:
    """Median over `runs` fresh processes of import + load, and of load alone (one run of a
    process start varies by ±0.3 s on this machine)."""
    code = (
        "import time; t=time.perf_counter(); from custtype import Classifier; "
        "i=time.perf_counter(); Classifier.load(); e=time.perf_counter(); "
        "print(e-t, e-i)"
    )
    totals, loads = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        total, load = (float(v) for v in out.stdout.split())
        totals.append(total)
        loads.append(load)
    return statistics.median(totals), statistics.median(loads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="messages per throughput run")
    ap.add_argument("--latency", type=int, default=300, help="messages for the latency run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median reported)")
    args = ap.parse_args()

    import joblib

    from custtype.model.artifact import default_model_dir

    texts = corpus_texts(args.n)
    others = other_texts(args.n)
    mean_len = sum(map(len, texts)) / len(texts)
    joblib.dump(_baseline(), ROOT / "benchmarks" / ".baseline.joblib")
    rows = []
    configs = (
        ("custtype, cold caches", False, None),
        ("custtype, unseen messages", False, others),
        ("custtype, warm caches", False, texts),
        ("custtype + evidence, warm", True, texts),
    )
    for workers in (1, 2):
        # the reference and our pipeline alternate, so a slow spell hits both alike
        runs: dict[str, list[tuple[float, int]]] = {}
        for _ in range(args.repeat):
            runs.setdefault("ref", []).append(throughput("baseline", texts, workers, False, None))
            for label, evidence, warm in configs:
                runs.setdefault(label, []).append(
                    throughput("custtype", texts, workers, evidence, warm)
                )
        ref = statistics.median(r for r, _ in runs["ref"])
        for label, _, _ in configs:
            ours = statistics.median(r for r, _ in runs[label])
            mem = max(m for _, m in runs[label])
            # each run against the reference run of its own round (minutes apart at most)
            ratios = [o / r for (o, _), (r, _) in zip(runs[label], runs["ref"], strict=True)]
            rows.append((workers, label, ours, ref, ratios, mem / 1024))
        ref_mem = max(m for _, m in runs["ref"])
        rows.append((workers, "bare TF-IDF + LR", ref, ref, [1.0], ref_mem / 1024))
    os.remove(ROOT / "benchmarks" / ".baseline.joblib")
    p50, p99 = latency(texts[: args.latency])
    total, load = load_time()
    size = sum(p.stat().st_size for p in default_model_dir().iterdir() if p.is_file()) / 1e6

    print(f"messages: {len(texts)} real corpus messages, mean {mean_len:.0f} characters")
    print(
        f"throughput: median of {args.repeat} runs each; ratio: median (and range) of each "
        "run's ratio to the reference run of the same round"
    )
    head = f"{'cores':>5} | {'pipeline':<28} | {'msg/s':>8} | {'baseline msg/s':>14} | "
    print(head + f"{'ratio':>5} | {'range':>11} | peak MB")
    for w, label, ours, ref_rate, ratios, mem in rows:
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(
            f"{w:>5} | {label:<28} | {ours:>8.0f} | {ref_rate:>14.0f} | "
            f"{statistics.median(ratios):>5.2f} | {spread:>11} | {mem:>7.0f}"
        )
    print(f"single message latency (with evidence, warm): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(
        f"model files: {size:.1f} MB; import + load: {total:.2f} s (load alone {load:.2f} s), "
        "median of 5 processes"
    )


if __name__ == "__main__":
    main()
