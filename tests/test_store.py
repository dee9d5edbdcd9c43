"""The feedback store on SQLite and PostgreSQL: migrations, verdicts, the append-only audit
log, kept text and its retention, webhook replies, concurrent writers, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from custtype.errors import FeedbackError, StoreError
from custtype.store.records import Shown, Store, now
from custtype.store.settings import StoreSettings

PG_ENV = "CUSTTYPE_TEST_POSTGRES_URL"


def _postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: `make test` starts PostgreSQL and sets it")
        pytest.skip(f"no PostgreSQL ({PG_ENV} unset; `make test` sets it)")
    return url


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text("DROP FUNCTION IF EXISTS custtype_audit_append_only() CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    pg = _postgres_url()
    _reset_postgres(pg)
    return pg


def _open(url: str, **kw: object) -> Store:
    return Store.open(StoreSettings(url=url, key="test-key-" + "x" * 24, **kw))  # type: ignore[arg-type]


def _shown(predicted: str = "want_it_now", action: str = "suggest", **kw: object) -> Shown:
    fields: dict[str, object] = {
        "text": "Сколько можно ждать?! Почините уже интернет.",
        "language": "ru",
        "predicted": predicted,
        "confidence": 0.93,
        "action": action,
        "automated": action in ("preselect", "auto_tag"),
        "model_version": "m-1",
        "policy_version": "1:abcd",
        "source": "api",
    }
    fields.update(kw)
    return Shown(**fields)  # type: ignore[arg-type]


def test_migrating_twice_is_a_no_op(url: str) -> None:
    store = _open(url)
    store.add_prediction(_shown())
    again = _open(url)
    tables = set(inspect(again.engine).get_table_names())
    assert {"predictions", "feedback", "audit", "tickets", "alembic_version"} <= tables
    assert again.count("predictions") == 1
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"


def test_head_is_the_newest_migration() -> None:
    """`migrate` skips alembic when a store is at HEAD: HEAD must be alembic's own head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from custtype.store import db

    cfg = Config()
    cfg.set_main_option("script_location", str(db._MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == db.HEAD


def test_a_store_at_head_is_opened_without_alembic(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    _open(url).add_prediction(_shown())

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("alembic ran on a store already at head")

    monkeypatch.setattr(command, "upgrade", refuse)
    assert _open(url).count("predictions") == 1


def test_a_store_of_a_newer_version_is_a_store_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _open(url).close()
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer custtype"):
        _open(url)


def test_a_verdict_is_stored_and_audited(url: str) -> None:
    store = _open(url)
    pid = store.add_prediction(_shown())
    store.add_feedback(pid, "correct", "none", "agent-7")
    [row] = store.latest_verdicts()
    assert (row["predicted"], row["verdict"], row["label"]) == ("want_it_now", "correct", "none")
    [entry] = list(store.audit_log())
    assert entry["actor"] == "agent-7" and entry["action"] == "feedback:correct"
    assert entry["model_version"] == "m-1" and entry["policy_version"] == "1:abcd"
    assert entry["detail"]["predicted"] == "want_it_now"


@pytest.mark.parametrize(
    ("verdict", "label", "message"),
    [
        ("confirm", "tester", "send verdict 'correct'"),
        ("correct", "want_it_now", "send verdict 'confirm'"),
        ("correct", None, "needs the right label"),
        ("unsure", "none", "leave it out"),
        ("correct", "pirate", "label: 'pirate' is not a type key"),
        ("maybe", None, "verdict: 'maybe'"),
    ],
)
def test_a_contradictory_verdict_is_refused_and_nothing_kept(
    tmp_path: Path, verdict: str, label: str | None, message: str
) -> None:
    store = _open(f"sqlite:///{tmp_path / 's.db'}")
    pid = store.add_prediction(_shown())
    with pytest.raises(FeedbackError, match=message):
        store.add_feedback(pid, verdict, label, "agent-1")
    assert store.count("feedback") == 0 and store.count("audit") == 0


def test_an_unknown_prediction_is_named(tmp_path: Path) -> None:
    store = _open(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(FeedbackError, match="no prediction 'pr_nope'"):
        store.add_feedback("pr_nope", "confirm", None, "agent-1")


def test_the_audit_log_is_append_only(url: str) -> None:
    store = _open(url)
    store.add_prediction(_shown(action="auto_tag", queue="vip"))
    assert [e["action"] for e in store.audit_log()] == ["auto_tag"]
    for sql in ("UPDATE audit SET actor = 'someone else'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert [e["actor"] for e in store.audit_log()] == ["custtype"]


def test_only_automated_actions_are_audited(tmp_path: Path) -> None:
    store = _open(f"sqlite:///{tmp_path / 's.db'}")
    store.add_prediction(_shown(action="suggest"))
    store.add_prediction(_shown(action="preselect"))
    assert [e["action"] for e in store.audit_log()] == ["preselect"]


def test_text_is_not_kept_by_default_and_its_hash_needs_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = _open(url)
    row = store.prediction(store.add_prediction(_shown()))
    assert row is not None and row["text"] is None
    other = Store.open(StoreSettings(url=url, key="another-key-" + "y" * 20))  # type: ignore[arg-type]
    assert row["text_hash"] == store.hash_text(_shown().text)
    assert row["text_hash"] != other.hash_text(_shown().text)


def test_a_key_file_is_made_once_for_sqlite_and_required_elsewhere(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 's.db'}"
    first = Store.open(StoreSettings(url=url))
    second = Store.open(StoreSettings(url=url))
    key_file = tmp_path / "db" / "s.db.key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert first.hash_text("a") == second.hash_text("a")
    with pytest.raises(StoreError, match="Set CUSTTYPE_STORE_KEY"):
        Store.open(StoreSettings(url="postgresql+psycopg://u@/db?host=/nonexistent"))


def test_kept_text_is_cleared_after_its_retention(url: str) -> None:
    store = _open(url, keep_text=True, retention_days=30)
    old = store.add_prediction(_shown(), at=now() - timedelta(days=31))
    new = store.add_prediction(_shown())
    store.add_feedback(new, "confirm", None, "agent-2")
    assert [x.prediction_id for x in store.labelled()] == [new]
    assert store.purge() == 1
    assert store.prediction(old)["text"] is None  # type: ignore[index]
    assert store.prediction(new)["text"] == _shown().text  # type: ignore[index]
    assert list(store.audit_log())[-1]["detail"] == {"texts": 1}


def test_a_ticket_is_answered_once(url: str) -> None:
    store = _open(url)
    first = store.add_ticket("T-1", _shown(), {"prediction_id": "pr_first", "type": "x"})
    second = store.add_ticket("T-1", _shown(), {"prediction_id": "pr_second", "type": "y"})
    assert first == second and '"pr_first"' in second
    assert store.count("predictions") == 1 and store.count("tickets") == 1


def test_concurrent_writers_lose_nothing(url: str) -> None:
    store = _open(url)
    pids = store.add_predictions([_shown() for _ in range(40)])
    errors: list[BaseException] = []

    def agent(n: int) -> None:
        try:
            for pid in pids:
                store.add_feedback(pid, "unsure", None, f"agent-{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count("feedback") == 6 * 40 and store.count("audit") == 6 * 40


def test_an_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a usable database URL"):
        Store.open(StoreSettings(url="nosuchdb://x", key="k" * 32))  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="Cannot open the store") as caught:
        Store.open(
            StoreSettings(url="postgresql+psycopg://u:hunter2@/db?host=/nonexistent", key="k" * 32)  # type: ignore[arg-type]
        )
    assert "hunter2" not in str(caught.value)  # no credentials in messages or logs


_WRITER = textwrap.dedent(
    """
    import sys
    from custtype.store.records import Shown, Store
    from custtype.store.settings import StoreSettings
    store = Store.open(StoreSettings(url=sys.argv[1], key="k" * 32))
    shown = Shown("text", "en", "tester", 0.9, "preselect", True, "m", "1:x", "api")
    print("ready", flush=True)
    while True:
        pid = store.add_prediction(shown)
        store.add_feedback(pid, "confirm", None, "agent")
    """
)


def test_kill_9_during_writes_leaves_whole_changes(url: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, url], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    threading.Event().wait(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = _open(url)
    predictions, feedback = store.count("predictions"), store.count("feedback")
    assert predictions > 0
    # each prediction is written with its audit row; each verdict with its own audit row
    assert store.count("audit") == predictions + feedback
    assert feedback in (predictions, predictions - 1)
    if url.startswith("sqlite"):
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
