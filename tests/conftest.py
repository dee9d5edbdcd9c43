"""Shared fixtures: the shipped model is loaded once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custtype import Assistant, Classifier, load_playbook

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def _store_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers started by tests (in process or as subprocesses) keep their feedback store in
    a temporary folder, never in the checkout's .custtype/."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'custtype.db'}"
    before = os.environ.get("CUSTTYPE_STORE_URL")
    os.environ["CUSTTYPE_STORE_URL"] = url
    yield
    if before is None:
        os.environ.pop("CUSTTYPE_STORE_URL", None)
    else:
        os.environ["CUSTTYPE_STORE_URL"] = before


@pytest.fixture(scope="session", autouse=True)
def _regex_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled cue patterns (text/regex_cache.py) are kept in a temporary folder, never in
    the user's cache folder: each test session starts as a first start would."""
    before = os.environ.get("CUSTTYPE_CACHE_DIR")
    os.environ["CUSTTYPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("regex"))
    yield
    if before is None:
        os.environ.pop("CUSTTYPE_CACHE_DIR", None)
    else:
        os.environ["CUSTTYPE_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.fixture(scope="session")
def assistant(classifier: Classifier) -> Assistant:
    return Assistant(classifier, load_playbook())


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "TYPES.md").is_file():
        pytest.skip("../shared is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """Real messages (../shared/corpus) when beside the checkout, else the real-like sample
    under tests/data: the end-to-end checks run either way, never skip."""
    real = SHARED / "corpus"
    return real if (real / "real_en.jsonl").is_file() else ROOT / "tests" / "data" / "real_like"


def start_server(workers: int, env: dict[str, str], **popen: Any) -> tuple[Any, str]:
    """`custtype serve` on a free port in a new process, once /readyz answers 200: (the
    process, its base URL). The caller stops it."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen([sys.executable, "-m", "custtype.cli", *args], env=env, **popen)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail("the server did not get ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
