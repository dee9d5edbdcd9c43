"""The feedback loop over HTTP: prediction ids, verdicts, the summary, the helpdesk webhook
(our shape, Zendesk, Freshdesk), its signature and replays, hostile feedback."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import start_server
from custtype import Assistant
from custtype.api import Settings, create_app
from custtype.store.records import Store
from custtype.store.settings import StoreSettings

WEBHOOK_SECRET = "hook-secret-3141"
IMPATIENT = {
    "ru": "Третий день без интернета, сколько можно?! Почините уже, у меня работа стоит!",
    "pl": "Ile jeszcze mam czekać na paczkę?! Tydzień w sortowni, zróbcie coś wreszcie!",
    "en": "Day 3 without internet. How many more days do I have to wait?! Fix it NOW.",
}


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("CUSTTYPE_STORE_URL", url)
    return url


@pytest.fixture
def client(assistant: Assistant, store_url: str) -> Iterator[TestClient]:
    settings = Settings(warmup=False, webhook_secret=WEBHOOK_SECRET)  # type: ignore[arg-type]
    with TestClient(create_app(settings, assistant=assistant)) as c:
        yield c


def _store(url: str) -> Store:
    return Store.open(StoreSettings(url=url))


def _signed(payload: Any, secret: str = WEBHOOK_SECRET) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "content": body,
        "headers": {"Content-Type": "application/json", "X-Custtype-Signature": sig},
    }


@pytest.mark.parametrize("lang", ["ru", "pl", "en"])
def test_classify_gives_a_prediction_id_and_the_allowed_action(
    client: TestClient, store_url: str, lang: str
) -> None:
    out = client.post("/v1/classify", json={"text": IMPATIENT[lang]}).json()
    assert out["prediction_id"].startswith("pr_")
    assert out["action"] in ("suggest", "preselect")
    row = _store(store_url).prediction(out["prediction_id"])
    assert row is not None and row["language"] == lang and row["text"] is None
    assert row["predicted"] == (out["type"] or out["outcome"])


def test_a_correction_is_counted_in_the_summary(client: TestClient) -> None:
    ids = [client.post("/v1/classify", json={"text": t}).json() for t in IMPATIENT.values()]
    r = client.post(
        "/v1/feedback",
        json={
            "prediction_id": ids[0]["prediction_id"],
            "verdict": "correct",
            "label": "none",
            "agent_id": "agent-1",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["label"] == "none"
    client.post(
        "/v1/feedback",
        json={"prediction_id": ids[1]["prediction_id"], "verdict": "unsure", "agent_id": "a2"},
    )
    types = client.get("/v1/feedback/summary").json()["types"]
    predicted = ids[0]["type"] or ids[0]["outcome"]
    mine = next(t for t in types if t["predicted"] == predicted)
    assert mine["corrected"].get("none", 0) >= 1
    assert sum(t["shown"] for t in types) == 3
    assert sum(t["unsure"] for t in types) == 1
    q = client.get("/v1/feedback/quality").json()
    assert (q["predictions"], q["answered"]) == (3, 2)
    assert sum(b["answered"] for b in q["calibration"]) == 1  # the correction (unsure: not)
    assert q["calibration"][0]["from"] == 0.0 and q["calibration"][-1]["to"] == 1.0
    assert sum(sum(w["mix"].values()) for w in q["weeks"]) == 3
    [week] = q["verdict_weeks"]
    assert (week["confirmed"], week["corrected"], week["unsure"]) == (0, 1, 1)


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        ({"prediction_id": "pr_unknown", "verdict": "confirm", "agent_id": "a"}, 404, "pr_unknown"),
        ({"verdict": "correct", "label": "pirate", "agent_id": "a"}, 422, "pirate"),
        ({"verdict": "sure", "agent_id": "a"}, 422, "verdict"),
        ({"verdict": "confirm", "agent_id": ""}, 422, "agent_id"),
        ({"verdict": "confirm", "agent_id": "a", "extra": 1}, 422, "extra"),
    ],
)
def test_hostile_feedback_is_a_4xx_naming_it_and_stores_nothing(
    client: TestClient, store_url: str, body: dict[str, Any], status: int, names: str
) -> None:
    pid = client.post("/v1/classify", json={"text": IMPATIENT["en"]}).json()["prediction_id"]
    r = client.post("/v1/feedback", json={"prediction_id": pid, **body})
    assert r.status_code == status, r.text
    assert names in json.dumps(r.json())
    assert _store(store_url).count("feedback") == 0


@pytest.mark.parametrize(
    "payload",
    [
        {
            "ticket_id": "T-100",
            "subject": "Cashback",
            "body": "Where is my 5% cashback from "
            "the summer promo? It was promised for every purchase over $50.",
            "channel": "email",
        },
        {
            "ticket": {
                "id": 100,
                "subject": "Cashback",
                "description": "<p>Where is my 5% "
                "cashback from the summer promo?</p><p>It was promised for purchases over $50.</p>",
                "via": {"channel": "web"},
                "requester": {"id": 77},
            }
        },
        {
            "freshdesk_webhook": {
                "ticket_id": 100,
                "ticket_subject": "Cashback",
                "ticket_description": "<div>Where is my 5% cashback from the summer promo?</div>",
                "ticket_source": "Portal",
                "ticket_requester_id": 77,
            }
        },
    ],
    ids=["custtype", "zendesk", "freshdesk"],
)
def test_the_webhook_answers_tags_action_and_strategy_once(
    client: TestClient, store_url: str, payload: dict[str, Any]
) -> None:
    first = client.post("/v1/webhooks/ticket", **_signed(payload))
    assert first.status_code == 200, first.text
    reply = first.json()
    assert reply["ticket_id"] in ("T-100", "100")
    label = reply["type"] or reply["outcome"]
    assert f"custtype_{label}" in reply["tags"]
    assert reply["action"] in ("off", "suggest", "preselect", "auto_tag")
    assert reply["strategy_summary"] and reply["internal_only"] is True
    assert first.headers["X-Custtype-Replay"] == "false"
    again = client.post("/v1/webhooks/ticket", **_signed(payload))
    assert again.headers["X-Custtype-Replay"] == "true"
    assert again.json() == reply
    assert _store(store_url).count("predictions") == 1  # replayed from the store


def test_an_oversized_verdict_or_ticket_is_a_413_and_stores_nothing(
    assistant: Assistant, store_url: str
) -> None:
    settings = Settings(warmup=False, max_body_bytes=2_000)
    with TestClient(create_app(settings, assistant=assistant)) as c:
        pid = c.post("/v1/classify", json={"text": IMPATIENT["en"]}).json()["prediction_id"]
        big = {"prediction_id": pid, "verdict": "unsure", "agent_id": "a" * 5_000}
        assert c.post("/v1/feedback", json=big).status_code == 413
        ticket = {"ticket_id": "T-9", "body": "Where is my refund? " * 200}
        assert c.post("/v1/webhooks/ticket", json=ticket).status_code == 413
    store = _store(store_url)
    assert store.count("feedback") == 0 and store.count("tickets") == 0


@pytest.mark.parametrize("signature", [None, "sha256=00", "md5=abc"])
def test_a_bad_signature_is_refused_and_nothing_stored(
    client: TestClient, store_url: str, signature: str | None
) -> None:
    signed = _signed({"ticket_id": "T-1", "body": "Where is my refund?"})
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["X-Custtype-Signature"] = signature
    r = client.post("/v1/webhooks/ticket", content=signed["content"], headers=headers)
    assert r.status_code == 401 and "X-Custtype-Signature" in r.json()["detail"]
    assert _store(store_url).count("predictions") == 0


@pytest.mark.parametrize(
    ("payload", "names"),
    [
        ({"ticket_id": "T-2", "subject": "", "body": "  "}, "subject and body is empty"),
        ({"subject": "x", "body": "Where is my refund?"}, "ticket_id"),
        ({"ticket_id": "T-3", "body": "x" * 20_001}, "body"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_an_unusable_ticket_is_a_422_naming_it(
    client: TestClient, store_url: str, payload: Any, names: str
) -> None:
    r = client.post("/v1/webhooks/ticket", **_signed(payload))
    assert r.status_code == 422, r.text
    assert names in r.json()["detail"]
    assert _store(store_url).count("predictions") == 0


def test_with_remember_off_there_is_no_id_and_no_automation(
    assistant: Assistant, store_url: str
) -> None:
    settings = Settings(warmup=False, remember=False)
    with TestClient(create_app(settings, assistant=assistant)) as c:
        out = c.post("/v1/classify", json={"text": IMPATIENT["ru"]}).json()
        assert out["prediction_id"] is None and out["action"] in ("off", "suggest")
        r = c.post(
            "/v1/feedback", json={"prediction_id": "pr_x", "verdict": "unsure", "agent_id": "a"}
        )
        assert r.status_code == 404 and "CUSTTYPE_REMEMBER" in r.json()["detail"]


def test_a_failing_store_still_answers_but_automates_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custtype.errors import StoreError

    def broken(*_: Any, **__: Any) -> list[str]:
        raise StoreError("database is locked")

    store = client.app.state.store  # type: ignore[attr-defined]
    monkeypatch.setattr(store, "add_predictions", broken)
    out = client.post("/v1/classify", json={"text": IMPATIENT["ru"]}).json()
    assert out["type"] == "want_it_now"  # the shipped policy would preselect it
    assert out["prediction_id"] is None and out["action"] == "suggest"


@pytest.mark.slow
def test_kill_9_of_the_server_during_writes_leaves_a_clean_store(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import threading
    import time

    import httpx
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "CUSTTYPE_STORE_URL": url, "CUSTTYPE_WARMUP": "false"}
    server, base = start_server(1, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        answered = []
        stop = threading.Event()

        def agent() -> None:
            with httpx.Client(base_url=base, timeout=10) as c:
                while not stop.is_set():
                    try:
                        pid = c.post("/v1/classify", json={"text": IMPATIENT["pl"]}).json()[
                            "prediction_id"
                        ]
                        r = c.post(
                            "/v1/feedback",
                            json={"prediction_id": pid, "verdict": "confirm", "agent_id": "a"},
                        )
                        answered.append(r.status_code)
                    except httpx.HTTPError:
                        return

        threads = [threading.Thread(target=agent) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(3)
        os.kill(server.pid, signal.SIGKILL)  # in the middle of writes
        server.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=15)
    finally:
        if server.poll() is None:
            server.kill()
    assert answered and set(answered) == {201}
    store = _store(url)  # opens (and migrates) cleanly
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        verdicts = conn.execute(text("SELECT count(*) FROM feedback")).scalar()
        audited = conn.execute(
            text("SELECT count(*) FROM audit WHERE action LIKE 'feedback:%'")
        ).scalar()
        automated = conn.execute(
            text("SELECT count(*) FROM predictions WHERE action IN ('preselect', 'auto_tag')")
        ).scalar()
        audited_auto = conn.execute(
            text("SELECT count(*) FROM audit WHERE action IN ('preselect', 'auto_tag')")
        ).scalar()
    assert verdicts >= len(answered) and verdicts == audited  # every verdict whole
    assert automated == audited_auto  # every automated action audited
