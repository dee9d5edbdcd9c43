"""The HTTP API: contract, batch, reference endpoints, health, metrics, logs, key, CORS, page."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from conftest import start_server
from custtype import (
    LANGS,
    TYPES,
    Assistant,
    Classifier,
    InputError,
    MessageContext,
    ModelError,
    load_playbook,
)
from custtype.api import Settings, create_app
from custtype.api import app as app_module
from custtype.api import server as server_module
from custtype.api.batching import Job, MicroBatcher
from custtype.api.observability import ACCESS_LOGGER, ERROR_LOGGER
from custtype.api.protocol import NoDelayHttpProtocol
from custtype.api.service import tags_for
from custtype.taxonomy import type_name

# Hand-written for these tests: one clear message per language.
MESSAGES = {
    "ru": "Я участвовала в розыгрыше, отметила трёх подруг и сделала репост. Когда итоги конкурса?",
    "pl": "Brałam udział w konkursie, oznaczyłam znajome i udostępniłam post. "
    "Kiedy wyniki losowania?",
    "en": "Did I win the Christmas giveaway? I tagged 3 friends and shared the post twice!",
}
SECRET = "ZEBRA-7781-SECRET"


@pytest.fixture(scope="module")
def app(assistant: Assistant) -> Iterator[FastAPI]:
    application = create_app(Settings(warmup=False), assistant=assistant)
    yield application


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def metric(client: TestClient, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


# -- classify -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_classify_matches_the_library_contract(
    client: TestClient, assistant: Assistant, lang: str
) -> None:
    text = MESSAGES[lang]
    r = client.post("/v1/classify", json={"text": text, "channel": "social"})
    assert r.status_code == 200
    body = r.json()
    expected = assistant.advise([text], contexts=[MessageContext(channel="social")])[0].to_dict()
    tags = body.pop("tags")
    assert body.pop("customer_id") is None
    assert body.pop("prediction_id").startswith("pr_")  # remembered for feedback
    assert body == json.loads(json.dumps(expected))
    assert body["language"] == lang
    assert body["strategy"]["lang"] == lang  # the agent sees the strategy in the message's language
    assert body["internal_only"] is True
    head = (
        f"custtype:{body['type']}" if body["outcome"] == "type" else f"custtype:{body['outcome']}"
    )
    assert tags[0] == head
    assert f"custtype-confidence:{body['confidence_level']}" in tags


@pytest.mark.parametrize("lang", LANGS)
def test_evidence_offsets_point_into_the_sent_text(client: TestClient, lang: str) -> None:
    text = "😀 " + MESSAGES[lang]  # a non-BMP character first: offsets count code points
    body = client.post("/v1/classify", json={"text": text}).json()
    assert body["evidence"], "expected at least one evidence phrase"
    for ev in body["evidence"]:
        assert text[ev["start"] : ev["end"]] == ev["text"]


@pytest.mark.parametrize("agent_lang", LANGS)
def test_agent_lang_sets_the_strategy_language(client: TestClient, agent_lang: str) -> None:
    body = client.post(
        "/v1/classify", json={"text": MESSAGES["ru"], "agent_lang": agent_lang}
    ).json()
    assert body["language"] == "ru"
    assert body["strategy"]["lang"] == agent_lang
    assert body["strategy"]["notice"] == load_playbook().notice[agent_lang]  # type: ignore[index]


def test_forced_language_and_customer_id_are_used(client: TestClient) -> None:
    body = client.post(
        "/v1/classify", json={"text": MESSAGES["pl"], "lang": "pl", "customer_id": "crm-42"}
    ).json()
    assert body["language"] == "pl" and body["customer_id"] == "crm-42"


def test_context_flags_reach_the_strategy(client: TestClient) -> None:
    body = client.post(
        "/v1/classify",
        json={"text": MESSAGES["en"], "public_exposure": True, "repeat_contacts": 3},
    ).json()
    assert body["strategy"]["flags"]["reputational_risk"] is True
    assert body["strategy"]["flags"]["repeat_contact"] is True
    assert body["strategy"]["escalate"] is True
    assert "custtype:escalate" in body["tags"]


def test_unsupported_language_is_undetermined_with_reason(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"text": "Guten Tag, wo ist meine Bestellung geblieben?"})
    body = r.json()
    assert r.status_code == 200
    assert body["outcome"] == "undetermined" and body["type"] is None
    assert "not supported" in body["reason"]
    assert body["tags"][0] == "custtype:undetermined"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {
                "outcome": "type",
                "type": "extortionist",
                "confidence_level": "high",
                "language": "pl",
                "strategy": {"priority": "high", "escalate": True},
            },
            [
                "custtype:extortionist",
                "custtype-confidence:high",
                "custtype-lang:pl",
                "custtype-priority:high",
                "custtype:escalate",
            ],
        ),
        (
            {
                "outcome": "undetermined",
                "type": None,
                "confidence_level": "low",
                "language": "de",
                "strategy": {"priority": "normal", "escalate": False},
            },
            [
                "custtype:undetermined",
                "custtype-confidence:low",
                "custtype-lang:de",
                "custtype-priority:normal",
            ],
        ),
        (
            {
                "outcome": "none",
                "type": None,
                "confidence_level": "medium",
                "language": "ru",
                "strategy": {"priority": "normal", "escalate": False},
            },
            [
                "custtype:none",
                "custtype-confidence:medium",
                "custtype-lang:ru",
                "custtype-priority:normal",
            ],
        ),
    ],
)
def test_tags_for_helpdesk_triggers(result: dict[str, Any], expected: list[str]) -> None:
    assert tags_for(result) == expected


# -- batch ----------------------------------------------------------------------------


def test_batch_keeps_order_echoes_ids_and_reports_bad_items(client: TestClient) -> None:
    items = [
        {"id": 7, "text": MESSAGES["en"]},
        {"id": "b", "text": "   "},
        {"id": "c", "text": MESSAGES["ru"], "agent_lang": "pl"},
        {"id": 1, "text": "x" * 20_001},
        {"id": "e", "text": MESSAGES["pl"]},
    ]
    r = client.post("/v1/classify/batch", json={"items": items})
    assert r.status_code == 200
    body = r.json()
    assert [it["id"] for it in body["items"]] == [7, "b", "c", 1, "e"]
    assert body["count"] == 5 and body["errors"] == 2
    bad = {it["id"]: it["error"] for it in body["items"] if it["error"]}
    assert "items[1].text is empty" in bad["b"]["detail"]
    assert "20001 characters" in bad[1]["detail"]
    assert body["items"][2]["result"]["strategy"]["lang"] == "pl"
    for item, sent in zip(body["items"], items, strict=True):
        if item["result"] is None:
            continue
        single = client.post("/v1/classify", json={k: v for k, v in sent.items() if k != "id"})
        one, alone = item["result"], single.json()
        assert one.pop("prediction_id") != alone.pop("prediction_id")  # each remembered
        assert one == alone


def test_batch_with_a_wrongly_typed_item_names_its_index(client: TestClient) -> None:
    r = client.post(
        "/v1/classify/batch", json={"items": [{"id": 1, "text": "ok"}, {"id": 2, "text": 5}]}
    )
    assert r.status_code == 422
    assert "items.1.text" in r.json()["detail"]


@pytest.mark.parametrize(("n", "status"), [(1000, 200), (1001, 422)])
def test_batch_size_limit(client: TestClient, n: int, status: int) -> None:
    items = [{"id": i, "text": "Gdzie jest moja paczka?"} for i in range(n)]
    r = client.post("/v1/classify/batch", json={"items": items})
    assert r.status_code == status
    if status == 422:
        assert "items" in r.json()["detail"] and "1000" in r.json()["detail"]
    else:
        assert r.json()["count"] == n


def test_a_lower_batch_limit_from_settings(assistant: Assistant) -> None:
    app = create_app(Settings(warmup=False, max_batch_items=2), assistant=assistant)
    with TestClient(app) as c:
        items = [{"id": i, "text": "Где мой заказ?"} for i in range(3)]
        r = c.post("/v1/classify/batch", json={"items": items})
    assert r.status_code == 422 and "at most 2 items" in r.json()["detail"]


# -- reference endpoints --------------------------------------------------------------


def test_types_lists_the_seven_types_with_names(client: TestClient) -> None:
    body = client.get("/v1/types").json()
    assert [t["key"] for t in body["types"]] == list(TYPES)
    for t in body["types"]:
        assert set(t["names"]) == set(LANGS) and all(t["names"].values())
    assert body["undetermined"]["ru"] == type_name(None, "ru")
    assert "chat" in body["channels"] and set(body["notice"]) == set(LANGS)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("type_key", [*TYPES, "none"])
def test_strategy_for_every_type_and_language(client: TestClient, type_key: str, lang: str) -> None:
    r = client.get(f"/v1/strategies/{type_key}", params={"lang": lang})
    assert r.status_code == 200
    body = r.json()
    assert body["lang"] == lang and body["internal_only"] is True
    assert body["type"] == (None if type_key == "none" else type_key)
    assert len(body["strategy"]["openers"]) >= 2


def test_unknown_type_lists_the_known_ones(client: TestClient) -> None:
    r = client.get("/v1/strategies/extortionst")
    assert r.status_code == 404
    assert "extortionst" in r.json()["detail"] and "prize_hunter" in r.json()["detail"]
    assert client.get("/v1/strategies/tester", params={"lang": "de"}).status_code == 422


def test_recommend_applies_context_rules(client: TestClient) -> None:
    r = client.post(
        "/v1/recommend",
        json={"type": "extortionist", "lang": "pl", "channel": "phone", "public_exposure": True},
    )
    body = r.json()
    assert r.status_code == 200
    assert body["escalate"] is True and body["priority"] == "high"
    assert "phone_to_written" in body["rules_applied"] and body["lang"] == "pl"
    plain = client.post("/v1/recommend", json={"type": None, "lang": "en"}).json()
    assert plain["type"] is None and plain["escalate"] is False
    bad = client.post("/v1/recommend", json={"type": "vip", "lang": "en"})
    assert bad.status_code == 422 and "Known types" in bad.json()["detail"]


# -- operations -----------------------------------------------------------------------


def test_health_and_readiness(client: TestClient, assistant: Assistant) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready == {
        "status": "ready",
        "model_version": assistant.version,
        "playbook_version": assistant.playbook.version,
    }


def test_not_ready_before_the_lifespan_ran(assistant: Assistant) -> None:
    c = TestClient(create_app(Settings(warmup=False), assistant=assistant))  # no `with`
    assert c.get("/healthz").status_code == 200
    r = c.get("/readyz")
    assert r.status_code == 503 and "not loaded" in r.json()["detail"]


def test_lifespan_loads_the_model_once(
    monkeypatch: pytest.MonkeyPatch, assistant: Assistant
) -> None:
    calls: list[Settings] = []

    def fake_load(settings: Settings) -> Assistant:
        calls.append(settings)
        return assistant

    monkeypatch.setattr(app_module, "load_assistant", fake_load)
    with TestClient(create_app(Settings(warmup=False))) as c:
        for _ in range(3):
            assert c.post("/v1/classify", json={"text": MESSAGES["pl"]}).status_code == 200
    assert len(calls) == 1


def test_metrics_count_requests_predictions_and_latency(client: TestClient) -> None:
    before = metric(client, "custtype_predictions_total", language="en")
    requests_before = metric(
        client, "custtype_http_requests_total", route="/v1/classify", status="200", method="POST"
    )
    hist_before = metric(
        client, "custtype_http_request_duration_seconds_count", route="/v1/classify"
    )
    for _ in range(3):
        client.post("/v1/classify", json={"text": MESSAGES["en"]})
    assert metric(client, "custtype_predictions_total", language="en") == before + 3
    assert (
        metric(
            client,
            "custtype_http_requests_total",
            route="/v1/classify",
            status="200",
            method="POST",
        )
        == requests_before + 3
    )
    assert (
        metric(client, "custtype_http_request_duration_seconds_count", route="/v1/classify")
        == hist_before + 3
    )


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "ticket-123.a"})
    assert r.headers["x-request-id"] == "ticket-123.a"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces <script>"})
    assert len(r.headers["x-request-id"]) == 32 and " " not in r.headers["x-request-id"]


# -- privacy: logs --------------------------------------------------------------------


def test_access_log_is_json_and_never_holds_message_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    text = f"{SECRET} Я требую компенсацию, иначе напишу отзыв"
    client.post("/v1/classify", json={"text": text, "customer_id": f"id-{SECRET}"})
    client.post("/v1/classify", json={"text": text + "x" * 20_001})  # 422
    client.post(
        "/v1/classify",
        content=f'{{"text": "{SECRET}'.encode(),
        headers={"content-type": "application/json"},
    )  # invalid JSON
    client.post("/v1/classify/batch", json={"items": [{"id": 1, "text": text}]})
    client.get(f"/v1/strategies/{SECRET}")  # text pasted into a path parameter: 404
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("custtype")]
    assert ours and not any(SECRET in line for line in ours)  # (httpx, the client, may log it)
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [a["status"] for a in access] == [200, 422, 400, 200, 404]
    assert access[-1]["path"] == "/v1/strategies/{type_key}"  # the route, not the text
    for a in access:
        assert set(a) >= {"request_id", "path", "status", "latency_ms", "method"}
        assert a["latency_ms"] >= 0 and len(a["request_id"]) == 32


def test_error_bodies_never_echo_the_text(client: TestClient) -> None:
    r = client.post("/v1/classify", json={"text": SECRET * 2000})
    assert r.status_code == 422 and SECRET not in r.text


def _boom() -> None:
    raise RuntimeError(f"something broke near {SECRET}")


def test_last_resort_500_logs_without_message_and_keeps_serving(
    assistant: Assistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_app(Settings(warmup=False), assistant=assistant)
    app.add_api_route("/boom", _boom)
    with TestClient(app) as c:
        r = c.get("/boom")
        assert r.status_code == 500
        assert r.json()["error"] == "internal_error" and r.json()["request_id"]
        assert c.post("/v1/classify", json={"text": MESSAGES["ru"]}).status_code == 200
        assert metric(c, "custtype_unhandled_errors_total") == 1
    errors = [json.loads(r.getMessage()) for r in caplog.records if r.name == ERROR_LOGGER]
    assert errors and errors[0]["error_type"] == "RuntimeError"
    assert SECRET not in caplog.text


# -- API key and CORS -----------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(assistant: Assistant) -> Iterator[TestClient]:
    app = create_app(Settings(warmup=False, api_key="s3cret-ключ"), assistant=assistant)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "Missing X-API-Key"),
        ({"X-API-Key": "wrong"}, 401, "Invalid API key"),
        ({"X-API-Key": "s3cret-ключ".encode()}, 200, None),
    ],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/classify", {"text": MESSAGES["en"]}),
        ("POST", "/v1/classify/batch", {"items": [{"id": 1, "text": MESSAGES["en"]}]}),
        ("GET", "/v1/types", None),
        ("GET", "/v1/strategies/tester", None),
        ("POST", "/v1/recommend", {"type": "tester"}),
    ],
)
def test_api_key_guards_v1(
    keyed: TestClient,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, Any],
    status: int,
    message: str | None,
) -> None:
    r = keyed.request(method, path, json=body, headers=headers)
    assert r.status_code == status
    if message:
        assert message in r.json()["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/", "/static/app.js"])
def test_open_paths_need_no_key(keyed: TestClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_no_key_needed_when_unset(client: TestClient) -> None:
    assert client.get("/v1/types").status_code == 200


def test_cors_is_off_unless_configured(client: TestClient, assistant: Assistant) -> None:
    preflight = {"Origin": "https://desk.example.com", "Access-Control-Request-Method": "POST"}
    r = client.options("/v1/classify", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    app = create_app(
        Settings(warmup=False, cors_origins="https://desk.example.com, https://b.example"),
        assistant=assistant,
    )
    with TestClient(app) as c:
        ok = c.options("/v1/classify", headers=preflight)
        assert ok.headers["access-control-allow-origin"] == "https://desk.example.com"
        other = c.options("/v1/classify", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTTYPE_API_KEY", "k1")
    monkeypatch.setenv("CUSTTYPE_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("CUSTTYPE_MAX_BATCH_ITEMS", "10")
    monkeypatch.setenv("CUSTTYPE_PLAYBOOK", "/tmp/acme.yaml")
    s = Settings()
    assert s.key_bytes() == b"k1" and s.max_batch_items == 10
    assert s.origins() == ["https://a.example", "https://b.example"]
    assert s.playbook == Path("/tmp/acme.yaml")
    monkeypatch.setenv("CUSTTYPE_MAX_BATCH_ITEMS", "5000")
    with pytest.raises(ValueError, match="max_batch_items"):
        Settings()


# -- page and serve -------------------------------------------------------------------


def test_agent_page_is_served_with_a_strict_csp(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert 'id="internal-notice"' in r.text
    for asset in ("/static/app.js", "/static/app.css"):
        assert client.get(asset).status_code == 200


def test_page_script_never_writes_html_from_strings(repo_root: Path) -> None:
    js = (repo_root / "src/custtype/resources/static/app.js").read_text("utf-8")
    for forbidden in (
        r"\.innerHTML\b",
        r"\.outerHTML\b",
        r"insertAdjacentHTML\(",
        r"document\.write",
        r"\beval\(",
        r"new Function\(",
    ):
        assert not re.search(forbidden, js), forbidden
    assert js.count("textContent") >= 5  # text goes in as text


def test_page_labels_exist_in_three_languages(repo_root: Path) -> None:
    html = (repo_root / "src/custtype/resources/static/index.html").read_text("utf-8")
    js = (repo_root / "src/custtype/resources/static/app.js").read_text("utf-8")
    keys = set(re.findall(r'data-i18n="([A-Za-z]+)"', html))
    assert keys
    for lang in LANGS:
        block = js.split(f"\n  {lang}: {{", 1)[1].split("\n  },", 1)[0]
        missing = [k for k in keys if f"{k}:" not in block]
        assert not missing, f"{lang} lacks {missing}"


def test_one_worker_serves_the_preloaded_app_in_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    app, seen = object(), {}
    monkeypatch.setattr(server_module, "_preload", lambda settings: app)
    monkeypatch.setattr(uvicorn, "run", lambda a, **kw: seen.update(app=a, **kw))
    server_module.serve(host="127.0.0.1", port=9, workers=1, model=None, playbook=None)
    assert seen["app"] is app and seen["access_log"] is False
    assert seen["timeout_keep_alive"] > 60  # outlives a load balancer's idle connections
    assert seen["http"] is NoDelayHttpProtocol


def test_workers_are_forked_from_the_loaded_app(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.app.base import BaseApplication

    app, seen = object(), {}

    def run(self: BaseApplication) -> None:
        seen.update(cfg=self.cfg, app=self.load())

    monkeypatch.setattr(server_module, "_preload", lambda settings: app)
    monkeypatch.setattr(BaseApplication, "run", run)
    server_module.serve(host="127.0.0.1", port=9, workers=2, model=None, playbook=None)
    cfg = seen["cfg"]
    assert seen["app"] is app and cfg.preload_app and cfg.workers == 2
    assert cfg.bind == ["127.0.0.1:9"]
    kwargs = cfg.worker_class.CONFIG_KWARGS
    assert kwargs["http"] is NoDelayHttpProtocol  # else --workers 2 answers ~40 ms late
    assert kwargs["access_log"] is False and kwargs["timeout_keep_alive"] > 60


@pytest.mark.slow
def test_serve_with_two_workers_answers_reloads_and_stops_cleanly(tmp_path: Path) -> None:
    """The real thing: forked workers answer and share the port; SIGHUP loads the model again
    from disk (and keeps the running one when the new one is broken); SIGTERM ends them all."""
    import contextlib
    import json
    import os
    import shutil
    import signal
    import subprocess
    import time

    import httpx

    from custtype.model.artifact import default_model_dir

    model = tmp_path / "model"
    shutil.copytree(default_model_dir(), model)
    env = {
        **os.environ,
        "CUSTTYPE_STORE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "CUSTTYPE_MODEL": str(model),
    }
    server, base = start_server(2, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    try:
        answers = [
            httpx.post(f"{base}/v1/classify", json={"text": MESSAGES[lang]}, timeout=10)
            for lang in LANGS
            for _ in range(4)
        ]
        assert [r.status_code for r in answers] == [200] * len(answers)
        assert {r.json()["language"] for r in answers} == set(LANGS)

        card = json.loads((model / "model_card.json").read_text("utf-8"))
        card["version"] = "reloaded-from-disk"
        (model / "model_card.json").write_text(json.dumps(card), "utf-8")
        server.send_signal(signal.SIGHUP)
        versions: list[str] = []  # until two answers in a row (both workers) say the new one
        deadline = time.monotonic() + 60
        while versions[-2:] != ["reloaded-from-disk"] * 2 and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                versions.append(httpx.get(f"{base}/readyz", timeout=5).json()["model_version"])
            time.sleep(0.2)
        assert versions[-2:] == ["reloaded-from-disk"] * 2
        assert httpx.post(f"{base}/v1/classify", json={"text": MESSAGES["pl"]}).status_code == 200

        (model / "weights.npz").write_bytes(b"broken")
        server.send_signal(signal.SIGHUP)
        time.sleep(3)
        assert server.poll() is None
        ready = httpx.get(f"{base}/readyz", timeout=5).json()
        assert ready["model_version"] == "reloaded-from-disk"  # the loaded one keeps serving

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        out = server.stdout.read() if server.stdout else ""
        assert '"event": "reload_refused"' in out and "weights.npz" in out
        assert "Traceback" not in out
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_an_ipv6_host_is_bound_in_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.app.base import BaseApplication

    seen: dict[str, Any] = {}
    monkeypatch.setattr(server_module, "_preload", lambda settings: object())
    monkeypatch.setattr(BaseApplication, "run", lambda self: seen.update(cfg=self.cfg))
    server_module.serve(host="::1", port=9, workers=2, model=None, playbook=None)
    assert seen["cfg"].bind == ["[::1]:9"]


def test_without_fork_uvicorns_own_workers_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(server_module, "_preload", lambda settings: object())
    monkeypatch.delattr(os, "fork")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    server_module.serve(host="127.0.0.1", port=9, workers=2, model=None, playbook=None)
    assert seen["app"] == "custtype.api:create_app" and seen["workers"] == 2
    assert seen["http"] is NoDelayHttpProtocol and seen["access_log"] is False


def test_serve_refuses_a_missing_model_before_starting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn must not start"))
    monkeypatch.setenv("CUSTTYPE_MODEL", "unused")  # serve() overwrites it
    with pytest.raises(ModelError, match="not a model directory"):
        server_module.serve("127.0.0.1", 9, 1, model=tmp_path, playbook=None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "CUSTTYPE_MAX_BODY_BYTES",
            "lots",
            "CUSTTYPE_MAX_BODY_BYTES: Input should be a valid integer",
        ),
        (
            "CUSTTYPE_MICRO_BATCH",
            "0",
            "CUSTTYPE_MICRO_BATCH: Input should be greater than or equal to 1",
        ),
        ("CUSTTYPE_MAX_IN_FLIGHT", "-3", "CUSTTYPE_MAX_IN_FLIGHT: Input should be greater than 0"),
        ("CUSTTYPE_WARMUP", "x" * 5_000_000, "CUSTTYPE_WARMUP: Input should be a valid boolean"),
    ],
)
def test_serve_with_a_bad_setting_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from custtype.cli import app as cli

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn must not start"))
    result = CliRunner().invoke(cli, ["serve", "--workers", "1"], env={name: value})
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output) < 1000


def test_serve_defaults_to_one_worker_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from typer.testing import CliRunner

    from custtype.cli import app as cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(server_module, "_preload", lambda settings: object())
    monkeypatch.setattr(server_module, "_run_one", lambda app, h, p: seen.update(workers=1))
    monkeypatch.setattr(server_module, "_run_forked", lambda app, h, p, w: seen.update(workers=w))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert seen["workers"] == len(os.sched_getaffinity(0))
    assert f"{seen['workers']} worker process(es) (one per core" in result.output


# -- micro-batching -------------------------------------------------------------------


def _job(text: str, agent_lang: str | None = None) -> Job:
    return Job(text, None, MessageContext(text=text), agent_lang)


def test_micro_batches_give_the_same_results_as_one_by_one(assistant: Assistant) -> None:
    texts = [f"{MESSAGES[lang]} #{i}" for i in range(12) for lang in LANGS]
    batcher = MicroBatcher(assistant, max_batch=8)
    try:
        with ThreadPoolExecutor(max_workers=len(texts)) as pool:
            got = list(pool.map(lambda t: batcher.submit(_job(t)).to_dict(), texts))
    finally:
        batcher.close()
    assert max(batcher.sizes) > 1, "concurrent requests should have shared a model call"
    assert max(batcher.sizes) <= 8 and sum(batcher.sizes) == len(texts)
    for text, result in zip(texts, got, strict=True):
        assert result == assistant.advise([text], contexts=[MessageContext(text=text)])[0].to_dict()


class _Flaky:
    """Wraps a classifier; fails any call that contains the text 'BAD'."""

    def __init__(self, inner: Classifier) -> None:
        self.inner, self.calls = inner, []

    def predict(self, texts: list[str], *args: Any, **kw: Any) -> list[Any]:
        self.calls.append(len(texts))
        if "BAD" in texts:
            raise InputError("text #0 is bad")
        return self.inner.predict(texts, *args, **kw)


def _wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the batcher"
        time.sleep(0.01)


def test_one_failing_message_fails_alone(assistant: Assistant) -> None:
    flaky = _Flaky(assistant.classifier)
    batcher = MicroBatcher(Assistant(flaky, assistant.playbook), max_batch=8)  # type: ignore[arg-type]
    gate, entered = threading.Event(), threading.Event()
    original = flaky.predict

    def slow_first(texts: list[str], *args: Any, **kw: Any) -> list[Any]:
        entered.set()
        gate.wait(10)  # hold the first call so the others queue up into one batch
        return original(texts, *args, **kw)

    flaky.predict = slow_first  # type: ignore[method-assign]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            # deterministic order: "first" is being scored before the others are queued,
            # and all three are queued before it finishes (no sleeps, so no timing luck)
            futures = [pool.submit(batcher.submit, _job("first"))]
            _wait_until(entered.is_set)
            futures += [pool.submit(batcher.submit, _job(t)) for t in ("ok 1", "BAD", "ok 2")]
            _wait_until(lambda: batcher._queue.qsize() >= 3)
            gate.set()
            outcomes = []
            for f in futures:
                try:
                    outcomes.append(f.result(timeout=30).outcome)
                except InputError as exc:
                    outcomes.append(str(exc))
    finally:
        batcher.close()
    assert outcomes[2] == "text #0 is bad"
    assert all(o in {"type", "none", "undetermined"} for i, o in enumerate(outcomes) if i != 2)
    assert 3 in flaky.calls  # "ok 1", "BAD", "ok 2" were tried together first


def test_batcher_stops_after_queued_jobs(assistant: Assistant) -> None:
    batcher = MicroBatcher(assistant)
    assert batcher.submit(_job(MESSAGES["pl"], agent_lang="en")).strategy.lang == "en"
    batcher.close()
    assert not batcher._thread.is_alive()
