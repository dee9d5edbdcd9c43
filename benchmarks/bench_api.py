"""Load benchmark of the HTTP API on loopback: throughput, latency, errors and server memory.

Starts `custtype serve` as a subprocess on 127.0.0.1 (a free port), then:

* closed loop: N concurrent clients (16 and 64) send requests back to back for --seconds
  each, to /v1/classify (one message) and /v1/classify/batch (--batch-size messages);
* fixed rate: --rps single-message requests per second for --duration seconds (open loop:
  latency is measured from the planned send time, so a slow server cannot hide its queue),
  with the server's RSS before, during (peak) and after.

Everything is bounded in time and count and only talks to 127.0.0.1.

    python benchmarks/bench_api.py                     # ~1.5 min: closed loop + 30 s at 200 req/s
    python benchmarks/bench_api.py --duration 300      # the 5-minute soak
    python benchmarks/bench_api.py --write-docs docs/api.md
    python benchmarks/bench_api.py --mixed --skip-closed         # classify + feedback, SQLite
    python benchmarks/bench_api.py --mixed --skip-closed --store-url URL   # … on PostgreSQL

With --mixed, the fixed-rate run alternates /v1/classify and /v1/feedback (each verdict about
a prediction made just before the run), and afterwards counts the verdicts in the store:
every 201 must be a stored row.

Messages come from ../shared/corpus/real_{ru,pl,en}.jsonl (read in place) when present.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
FALLBACK = [
    "Где мой заказ?! Жду уже неделю, сколько можно!!!",
    "Dzień dobry, gdzie jest moja paczka? Czekam od poniedziałku.",
    "Did I win the giveaway? I tagged three friends, when is the next draw?",
    "Я постоянный клиент и требую компенсацию, иначе напишу отзыв в инстаграм.",
    "Hello, how do I change the delivery address on my order?",
]
GRACE = 30.0  # seconds to wait for answers after a fixed-rate run before giving up
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Result:
    """Latencies and errors of one run."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    items_per_request: int = 1
    note: str = ""
    failures: Counter[str] = field(default_factory=Counter)

    def fail(self, why: str) -> None:
        self.errors += 1
        self.failures[why] += 1

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self) -> list[str]:
        n = len(self.latencies) + self.errors
        rps = n / self.seconds if self.seconds else 0.0
        return [
            self.name,
            f"{n}",
            f"{rps:.0f}",
            f"{rps * self.items_per_request:.0f}",
            f"{self.pct(0.50):.1f}",
            f"{self.pct(0.99):.1f}",
            f"{(self.errors / n if n else 0):.2%}",
            "; ".join(x for x in (self.note, self._why()) if x),
        ]

    def _why(self) -> str:
        return ", ".join(f"{k}×{v}" for k, v in self.failures.most_common(3))


HEADER = ["run", "requests", "req/s", "msg/s", "p50 ms", "p99 ms", "errors", "notes"]


def load_messages(limit: int = 3000, max_chars: int = 20_000) -> list[str]:
    """Real public messages from shared/corpus (read in place), or a built-in handful."""
    texts: list[str] = []
    for lang in ("ru", "pl", "en"):
        path = CORPUS / f"real_{lang}.jsonl"
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    text = json.loads(line).get("text", "")
                    if text.strip() and len(text) <= max_chars:
                        texts.append(text)
    random.Random(7).shuffle(texts)
    return texts[:limit] or FALLBACK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), from /proc."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total / 1024


def start_server(
    port: int, workers: int | None, store: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`custtype serve`, as users run it (its JSON access log goes to /dev/null); `workers`
    None keeps serve's default (one per core)."""
    cmd = [
        sys.executable,
        "-m",
        "custtype.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *(["--workers", str(workers)] if workers else []),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **(store or {})}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"server exited with code {proc.returncode}; run `custtype serve` to see why"
            )
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not become ready in time")


Post = Callable[[str, bytes], Awaitable[str | None]]
JSON_HEADERS = {"content-type": "application/json"}


@asynccontextmanager
async def poster(kind: str, base: str, connections: int) -> AsyncIterator[Post]:
    """`post(path, body)` over keep-alive connections: None on 200 or 201, else why it failed.

    aiohttp by default: on these 2 shared cores httpx spent ~2.2 ms of CPU a request and
    aiohttp ~0.75 ms, CPU the server under test would otherwise not have.
    """
    if kind == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=connections)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

            async def post_aiohttp(path: str, body: bytes) -> str | None:
                try:
                    async with session.post(path, data=body, headers=JSON_HEADERS) as r:
                        await r.read()
                        return None if r.status in (200, 201) else f"HTTP {r.status}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    return type(exc).__name__

            yield post_aiohttp
        return
    # httpx: several small clients, since one pool's bookkeeping grows with its size
    per, turn = 8, itertools.count()
    async with AsyncExitStack() as stack:
        limits = httpx.Limits(max_connections=per, max_keepalive_connections=per)
        pool = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, limits=limits, timeout=30)
            )
            for _ in range(max(1, -(-connections // per)))
        ]

        async def post_httpx(path: str, body: bytes) -> str | None:
            try:
                r = await pool[next(turn) % len(pool)].post(
                    path, content=body, headers=JSON_HEADERS
                )
            except httpx.HTTPError as exc:
                return type(exc).__name__
            return None if r.status_code in (200, 201) else f"HTTP {r.status_code}"

        yield post_httpx


async def closed_loop(
    client: str,
    base: str,
    path: str,
    bodies: list[bytes],
    concurrency: int,
    seconds: float,
    name: str,
    items: int,
) -> Result:
    """`concurrency` clients send back to back for `seconds`."""
    result = Result(name=name, seconds=seconds, items_per_request=items)
    stop = time.perf_counter() + seconds
    async with poster(client, base, concurrency) as post:

        async def worker(k: int) -> None:
            i = k
            while time.perf_counter() < stop:
                body = bodies[i % len(bodies)]
                i += concurrency
                t0 = time.perf_counter()
                why = await post(path, body)
                if why is None:
                    result.latencies.append(time.perf_counter() - t0)
                else:
                    result.fail(why)

        started = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


async def fixed_rate(
    client: str,
    base: str,
    requests: list[tuple[str, bytes]],
    rps: float,
    seconds: float,
    pid: int,
    name: str = "single",
) -> tuple[Result, dict[str, float]]:
    """Open loop at `rps` for `seconds`, cycling through (path, body) `requests`; latency from
    the planned send time; RSS sampled."""
    result = Result(name=f"fixed {rps:.0f} req/s, {seconds:.0f} s, {name}", seconds=seconds)
    memory = {"before": tree_rss_mb(pid), "peak": 0.0}
    total = int(rps * seconds)
    connections = 256
    # waiting here (not in a client's pool, whose cost grows with its queue) counts as latency
    gate = asyncio.Semaphore(connections)
    async with poster(client, base, connections) as post:

        async def one(i: int, planned: float) -> None:
            async with gate:
                why = await post(*requests[i % len(requests)])
            if why is None:
                result.latencies.append(time.perf_counter() - planned)
            else:
                result.fail(why)

        async def sample() -> None:
            while True:
                memory["peak"] = max(memory["peak"], tree_rss_mb(pid))
                await asyncio.sleep(1)

        sampler = asyncio.create_task(sample())
        # the generator's own pauses would count as server latency: finished requests are
        # dropped at once, and what lives on is frozen out of the cyclic collector's reach
        gc.collect()
        gc.freeze()
        start = time.perf_counter()
        tasks: set[asyncio.Task[None]] = set()
        for i in range(total):
            planned = start + i / rps
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i, planned))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        late: set[asyncio.Task[None]] = set()
        if tasks:
            _, late = await asyncio.wait(
                set(tasks), timeout=max(0.0, start + seconds + GRACE - time.perf_counter())
            )
        for task in late:  # an overloaded server: stop waiting, count them as failures
            task.cancel()
            result.fail(f"no answer {GRACE:.0f} s after the run")
        result.seconds = time.perf_counter() - start
        sampler.cancel()
    memory["after"] = tree_rss_mb(pid)
    result.note = (
        f"RSS {memory['before']:.0f} → {memory['after']:.0f} MB (peak {memory['peak']:.0f})"
    )
    return result, memory


def store_env(url: str | None) -> dict[str, str]:
    """The server's store settings: `url`, or a fresh SQLite file; a key for any database."""
    if url is None:
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"custtype-bench-{os.getpid()}"
        url = f"sqlite:///{folder / 'store.db'}"
    key = os.environ.get("CUSTTYPE_STORE_KEY") or "bench-key-" + "0" * 22
    return {"CUSTTYPE_STORE_URL": url, "CUSTTYPE_STORE_KEY": key}


def mixed_requests(
    base: str, singles: list[bytes], total: int
) -> tuple[list[tuple[str, bytes]], int]:
    """Half classify requests, half verdicts on predictions made now (before the timed run);
    the number of verdicts."""
    n = max(1, total // 2)
    ids = []
    with httpx.Client(base_url=base, timeout=30) as c:
        for i in range(n):
            r = c.post("/v1/classify", content=singles[i % len(singles)], headers=JSON_HEADERS)
            ids.append(r.raise_for_status().json()["prediction_id"])
    verdicts = [
        json.dumps(
            {"prediction_id": pid, "verdict": "unsure", "agent_id": f"bench-{i % 7}"}
        ).encode()
        for i, pid in enumerate(ids)
    ]
    out: list[tuple[str, bytes]] = []
    for i, v in enumerate(verdicts):
        out += [("/v1/classify", singles[(n + i) % len(singles)]), ("/v1/feedback", v)]
    return out, len(verdicts)


def stored_feedback(store: dict[str, str]) -> int:
    """Verdicts in the store (read directly, not through the API)."""
    from custtype.store.records import Store
    from custtype.store.settings import StoreSettings

    s = Store.open(StoreSettings(url=store["CUSTTYPE_STORE_URL"], key=store["CUSTTYPE_STORE_KEY"]))  # type: ignore[arg-type]
    try:
        return s.count("feedback")
    finally:
        s.close()


def table(results: list[Result]) -> str:
    rows = [HEADER, ["---"] * len(HEADER), *[r.row() for r in results]]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def write_docs(path: Path, text: str) -> None:
    doc = path.read_text(encoding="utf-8")
    if MARK_START not in doc or MARK_END not in doc:
        raise SystemExit(f"{path} has no {MARK_START} … {MARK_END} section to replace")
    head, rest = doc.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_START}\n{text}\n{MARK_END}{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8, help="each closed-loop run (s)")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--rps", type=float, default=200)
    ap.add_argument("--duration", type=float, default=30, help="fixed-rate run (s); 300 = soak")
    ap.add_argument("--workers", type=int, help="default: serve's own (one per core)")
    ap.add_argument(
        "--client", choices=["aiohttp", "httpx"], default="aiohttp", help="load generator's client"
    )
    ap.add_argument("--max-chars", type=int, default=20_000, help="only messages this short")
    ap.add_argument("--skip-closed", action="store_true", help="only the fixed-rate run")
    ap.add_argument("--write-docs", type=Path, help="replace the bench section of this file")
    ap.add_argument("--mixed", action="store_true", help="fixed rate: classify + feedback")
    ap.add_argument("--store-url", help="feedback store (default: a new SQLite file in /tmp)")
    args = ap.parse_args()
    if args.duration > 900 or args.seconds > 120:
        raise SystemExit("refusing runs longer than 15 min (fixed rate) or 2 min (closed loop)")

    texts = load_messages(max_chars=args.max_chars)
    singles = [json.dumps({"text": t}).encode() for t in texts]
    batches = [
        json.dumps(
            {
                "items": [
                    {"id": j, "text": texts[(i + j) % len(texts)]} for j in range(args.batch_size)
                ]
            }
        ).encode()
        for i in range(0, 20 * args.batch_size, args.batch_size)
    ]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = store_env(args.store_url)
    proc = start_server(port, args.workers, store)
    results: list[Result] = []
    note = ""
    try:
        wait_ready(base, proc)
        warm = closed_loop(args.client, base, "/v1/classify", singles, 4, 3, "warm-up", 1)
        asyncio.run(warm)  # discarded
        runs = (
            []
            if args.skip_closed
            else [
                (path, bodies, c, f"closed c={c}, {what}", items)
                for path, bodies, what, items in (
                    ("/v1/classify", singles, "single", 1),
                    ("/v1/classify/batch", batches, f"batch of {args.batch_size}", args.batch_size),
                )
                for c in args.concurrency
            ]
        )
        for path, bodies, c, name, items in runs:
            run = closed_loop(args.client, base, path, bodies, c, args.seconds, name, items)
            results.append(asyncio.run(run))
            print(table(results[-1:]).splitlines()[-1], flush=True)
        if args.mixed:
            requests, sent = mixed_requests(base, singles, int(args.rps * args.duration))
            stored_before = stored_feedback(store)
            rate = fixed_rate(
                args.client, base, requests, args.rps, args.duration, proc.pid, "classify+feedback"
            )
            results.append(asyncio.run(rate)[0])
            stored = stored_feedback(store) - stored_before
            ok = results[-1].failures.total() == 0
            note = (
                f"Store {store['CUSTTYPE_STORE_URL'].split('?')[0]}: {sent:,} verdicts sent, "
                f"{stored:,} stored ({'all' if ok and stored == sent else 'CHECK'})."
            )
        else:
            requests = [("/v1/classify", b) for b in singles]
            rate = fixed_rate(args.client, base, requests, args.rps, args.duration, proc.pid)
            results.append(asyncio.run(rate)[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()

    lengths = sorted(len(t) for t in texts)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    batch = os.environ.get("CUSTTYPE_MICRO_BATCH", "8")
    workers = args.workers or len(os.sched_getaffinity(0))  # serve's default: one per core
    flag = f" --workers {args.workers}" if args.workers else ""
    env = (
        f"{len(texts)} distinct messages (real public corpus when present; median "
        f"{lengths[len(lengths) // 2]} characters); server: `custtype serve{flag}` ({workers} "
        f"worker(s); uvicorn, httptools, TCP_NODELAY), micro-batch {batch}; client: "
        f"{args.client} (async) on the same {os.cpu_count()} cores; load average at the end "
        f"{load}; {time.strftime('%Y-%m-%d %H:%M')}"
    )
    out = table(results) + f"\n\n{env}" + (f"\n\n{note}" if note else "")
    print()
    print(out)
    if args.write_docs:
        write_docs(args.write_docs, out)
        print(f"\nwrote the table into {args.write_docs}")


if __name__ == "__main__":
    main()
