"""Hostile and odd input: always a 4xx naming the problem or a result, never a 5xx."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from custtype import Assistant
from custtype.api import Settings, create_app

J = "application/json"
JSON = {"content-type": J}
LIMIT = 5_000_000


@pytest.fixture(scope="module")
def app(assistant: Assistant) -> FastAPI:
    return create_app(Settings(warmup=False), assistant=assistant)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()


NOT_STR = "text: Input should be a valid string"
# (name, raw body, content type, expected status, words the message must contain)
HOSTILE: list[tuple[str, bytes, str | None, int, str]] = [
    ("empty text", _json({"text": ""}), J, 422, "text is empty"),
    ("whitespace text", _json({"text": " \n\t\u00a0 "}), J, 422, "text is empty"),
    ("text is a number", _json({"text": 5}), J, 422, NOT_STR),
    ("text is null", _json({"text": None}), J, 422, NOT_STR),
    ("text is a list", _json({"text": ["a"]}), J, 422, NOT_STR),
    ("text is an object", _json({"text": {"a": 1}}), J, 422, "text"),
    ("missing text", _json({"channel": "chat"}), J, 422, "text: Field required"),
    ("empty body", b"", J, 422, "body is missing"),
    ("body is null", b"null", J, 422, "body"),
    ("body is a list", b"[]", J, 422, "valid dictionary"),
    ("body is a string", b'"hello"', J, 422, "valid dictionary"),
    ("invalid JSON", b'{"text": "abc",}', J, 400, "Invalid JSON at line 1, column 16"),
    ("truncated JSON", b'{"text": "abc', J, 400, "Invalid JSON"),
    ("JSON on line 2", b'{\n  "text" "abc"}', J, 400, "line 2, column 10"),
    ("single quotes", b"{'text': 'abc'}", J, 400, "Invalid JSON"),
    ("NaN text", b'{"text": NaN}', J, 422, "valid string"),
    ("invalid UTF-8", b'{"text": "caf\xe9 \xff"}', J, 400, "not valid UTF-8"),
    ("overlong UTF-8", b'{"text": "\xc0\xaf"}', J, 400, "not valid UTF-8"),
    ("lone surrogate", b'{"text": "abc \\ud800 def"}', J, 422, "unpaired surrogate"),
    (
        "text over 20,000",
        _json({"text": "a" * 20_001}),
        J,
        422,
        "20001 characters; the limit is 20000",
    ),
    (
        "deep nesting",
        b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        J,
        400,
        "nested too deeply",
    ),
    (
        "unknown language",
        _json({"text": "hi there", "lang": "de"}),
        J,
        422,
        "lang: Input should be",
    ),
    (
        "unknown channel",
        _json({"text": "hi there", "channel": "fax"}),
        J,
        422,
        "channel: Input should be",
    ),
    (
        "unknown field",
        _json({"text": "hi there", "txt": "x"}),
        J,
        422,
        "txt: Extra inputs are not permitted",
    ),
    ("negative repeats", _json({"text": "hi", "repeat_contacts": -1}), J, 422, "repeat_contacts"),
    (
        "bool as repeats",
        _json({"text": "hi", "repeat_contacts": "many"}),
        J,
        422,
        "repeat_contacts",
    ),
    ("long customer id", _json({"text": "hi", "customer_id": "c" * 201}), J, 422, "customer_id"),
    (
        "text/plain",
        _json({"text": "hi"}),
        "text/plain",
        415,
        "Content-Type must be application/json",
    ),
    (
        "form",
        b"text=hi",
        "application/x-www-form-urlencoded",
        415,
        "Content-Type must be application/json",
    ),
    (
        "multipart",
        b"--x\r\n\r\nhi\r\n--x--",
        "multipart/form-data; boundary=x",
        415,
        "application/json",
    ),
    ("no content type", _json({"text": "hi"}), None, 415, "Missing Content-Type"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in HOSTILE],
)
def test_hostile_single_request(
    client: TestClient, body: bytes, content_type: str | None, status: int, words: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/v1/classify", content=body, headers=headers)
    assert r.status_code == status, r.text
    payload = r.json()
    assert words in payload["detail"]
    assert payload["request_id"] == r.headers["x-request-id"]


HOSTILE_BATCH: list[tuple[str, Any, int, str]] = [
    ("no items", {"items": []}, 422, "items: List should have at least 1 item"),
    ("items not a list", {"items": {"id": 1}}, 422, "items: Input should be a valid list"),
    (
        "1001 items",
        {"items": [{"id": i, "text": "a"} for i in range(1001)]},
        422,
        "at most 1000 items",
    ),
    ("missing id", {"items": [{"text": "a"}]}, 422, "items.0.id: Field required"),
    ("id is a list", {"items": [{"id": [1], "text": "a"}]}, 422, "items.0.id"),
    (
        "text wrong type at 2",
        {"items": [{"id": 1, "text": "a"}, {"id": 2, "text": "b"}, {"id": 3, "text": 4}]},
        422,
        "items.2.text",
    ),
    (
        "bad lang at 1",
        {"items": [{"id": 1, "text": "a"}, {"id": 2, "text": "b", "lang": "xx"}]},
        422,
        "items.1.lang",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "words"), [pytest.param(*case[1:], id=case[0]) for case in HOSTILE_BATCH]
)
def test_hostile_batch_request(client: TestClient, body: Any, status: int, words: str) -> None:
    r = client.post("/v1/classify/batch", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "is empty"),
        ("   \n ", "is empty"),
        ("a" * 20_001, "20001 characters"),
        ("abc \ud800", "unpaired surrogate"),
    ],
    ids=["empty", "whitespace", "too long", "surrogate"],
)
def test_bad_batch_text_gets_a_per_item_error(client: TestClient, text: str, words: str) -> None:
    raw = json.dumps(
        {"items": [{"id": "ok", "text": "Где мой заказ?"}, {"id": "bad", "text": text}]}
    )
    r = client.post(
        "/v1/classify/batch", content=raw.encode("utf-8", "surrogatepass"), headers=JSON
    )
    assert r.status_code == 200
    ok, bad = r.json()["items"]
    assert ok["result"] is not None and ok["error"] is None
    assert bad["result"] is None and words in bad["error"]["detail"]
    assert bad["error"]["code"] == "invalid_text"


ODD_BUT_VALID = {
    "null bytes": "Gdzie\x00 jest\x00 moja paczka?\x00",
    "emoji only": "😡😡😡🔥🔥",
    "single emoji": "👍",
    "zalgo": "W̷̢̛h̴͔̊e̵̛͜r̶̲̈́e̸̜͝ ̶̗̈́i̷̺͝s̴̰̈ ̸̣̇m̸̱̀y̴̹͠ ̷͇̓o̵̩͝r̶̨̛d̷̰̈́e̵̡͝r̷̳̈́?̵̱̈́",
    "hebrew rtl": "שלום, איפה ההזמנה שלי? אני מחכה כבר שבוע",
    "arabic rtl": "مرحبا، أين طلبي؟ أنتظر منذ أسبوع",
    "rtl override": "\u202eredro ym si erehW\u202c please help",
    "mixed cyrillic latin": "Кaкой УЖAС!!! Where is мой order? Jestem wkurzony",
    "homoglyphs": "Нello, whеrе is my оrdеr? I wаnt а rеfund nоw",
    "punctuation only": "?!?!?!...",
    "one letter": "a",
    "digits": "4242 4242 4242 4242",
    "control chars": "Hello\x07\x1b[31m where is my order\x1b[0m?",
    "bom": "\ufeffDzień dobry, gdzie jest moje zamówienie?",
    "cjk": "我的订单在哪里？已经等了一个星期了",
    "newlines": "\n\n\nГде\n\nмой\n\nзаказ\n\n",
    "exact limit": ("Where is my order? " * 1100)[:20_000],
    "html": "<script>alert('x')</script><b>Where is my order?</b>",
    "sql": "'; DROP TABLE orders; -- where is my parcel",
    "combining only": "\u0301\u0301\u0301\u0301",
    "non-BMP letters": "𝐖𝐡𝐞𝐫𝐞 𝐢𝐬 𝐦𝐲 𝐨𝐫𝐝𝐞𝐫",
}


@pytest.mark.parametrize("text", list(ODD_BUT_VALID.values()), ids=list(ODD_BUT_VALID))
def test_odd_but_valid_text_is_classified_or_undetermined(client: TestClient, text: str) -> None:
    r = client.post("/v1/classify", json={"text": text})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] in {"type", "none", "undetermined"}
    if body["outcome"] == "undetermined":
        assert body["reason"]
    for ev in body["evidence"]:
        assert 0 <= ev["start"] < ev["end"] <= len(text)
        assert text[ev["start"] : ev["end"]] == ev["text"]


def test_odd_texts_in_one_batch(client: TestClient) -> None:
    items = [{"id": k, "text": v} for k, v in ODD_BUT_VALID.items()]
    r = client.post("/v1/classify/batch", json={"items": items})
    assert r.status_code == 200
    assert [it["id"] for it in r.json()["items"]] == list(ODD_BUT_VALID)
    assert r.json()["errors"] == 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/classify", 405),
        ("DELETE", "/v1/types", 405),
        ("GET", "/v1/nothing", 404),
        ("GET", "/v1/strategies/" + "x" * 65, 422),
        ("GET", "/v1/strategies/%00%ff", 404),
        ("GET", "/v1/strategies/tester?lang=%ff", 422),
        ("GET", "/static/../../pyproject.toml", 404),
    ],
)
def test_wrong_method_or_path(client: TestClient, method: str, path: str, status: int) -> None:
    r = client.request(method, path)
    assert r.status_code == status
    assert r.json()["detail"]


def test_declared_body_over_the_limit_is_refused_before_reading(client: TestClient) -> None:
    r = client.post("/v1/classify", content=b"{" + b" " * LIMIT + b"}", headers=JSON)
    assert r.status_code == 413
    assert "over the limit of 5,000,000" in r.json()["detail"]


def test_streamed_body_is_cut_off_while_reading(app: FastAPI, client: TestClient) -> None:
    """A chunked upload without Content-Length stops being read just past the limit."""
    chunk = b" " * 1_000_000
    received: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": chunk, "more_body": len(received) < 20}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/classify",
        "raw_path": b"/v1/classify",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert len(received) == 6  # 6 MB read, 14 MB never touched
    assert b"over the limit" in b"".join(m.get("body", b"") for m in sent[1:])


def test_server_kept_serving_and_no_5xx_happened(client: TestClient) -> None:
    """Runs last in this module: after all of the above, a normal request still works."""
    assert client.post("/v1/classify", json={"text": "Gdzie jest moja paczka?"}).status_code == 200
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "custtype_http_requests_total":
                assert not s.labels["status"].startswith("5"), s
            if s.name == "custtype_unhandled_errors_total":
                assert s.value == 0


# -- a real socket: uvicorn on loopback --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(assistant: Assistant) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(warmup=False), assistant=assistant),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.slow
def test_real_socket_chunked_upload_is_refused_mid_body(live_url: str) -> None:
    """6 MB of a chunked body that never ends: the 413 comes back while we are still 'sending'."""
    host, port = live_url.removeprefix("http://").split(":")
    head = (
        b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (1_000_000, b" " * 1_000_000)
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(head)
        for _ in range(6):  # the body is not finished: no terminating 0-length chunk
            s.sendall(chunk)
        reply = b""
        while b"}" not in reply:  # the JSON error body may come in a second packet
            part = s.recv(4096)
            if not part:
                break
            reply += part
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"over the limit" in reply
    ok = httpx.post(f"{live_url}/v1/classify", json={"text": "Where is my order?"}, timeout=30)
    assert ok.status_code == 200


@pytest.mark.slow
def test_real_socket_garbage_keeps_the_server_up(live_url: str) -> None:
    host, port = live_url.removeprefix("http://").split(":")
    for garbage in (
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"POST /v1/classify HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(garbage)
            reply = s.recv(100)
            assert reply.startswith(b"HTTP/1.1 4") or reply == b""
    r = httpx.post(f"{live_url}/v1/classify", json={"text": "Gdzie jest moja paczka?"}, timeout=30)
    assert r.status_code == 200


def _scope(
    path: str = "/v1/classify", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": "POST", "scheme": "http", "path": path,
        "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": headers or [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip


async def _fast_receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b'{"text": "Gdzie paczka?"}', "more_body": False}


class _Held(Assistant):
    """An assistant whose scoring waits until `release` is set (a request being scored)."""

    def __init__(self, inner: Assistant) -> None:
        super().__init__(inner.classifier, inner.playbook)
        self.release = threading.Event()

    def advise(self, *args: Any, **kwargs: Any) -> Any:
        self.release.wait(10)
        return super().advise(*args, **kwargs)


def test_a_flood_gets_429_not_a_growing_queue(assistant: Assistant) -> None:
    """Over max_in_flight /v1 requests being scored, the extra one is refused with 429."""
    held = _Held(assistant)
    app = create_app(Settings(warmup=False, max_in_flight=1), assistant=held)
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def scenario() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app, _scope(), _fast_receive, send)
            await anyio.sleep(0.3)  # the first is read and being scored
            await app(_scope(), _fast_receive, send)
            held.release.set()

    with TestClient(app):  # the lifespan starts the batcher
        anyio.run(scenario)
    assert statuses == [429, 200]  # the second was refused at once; the first then finished


def test_a_slow_body_does_not_take_a_place_in_flight(assistant: Assistant) -> None:
    """A client trickling its body is not counted: with room for one request in flight, a
    normal request is still served meanwhile; the slow one gets 408 at the body timeout."""
    app = create_app(Settings(warmup=False, max_in_flight=1, body_timeout=1.0), assistant=assistant)
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def trickle() -> dict[str, Any]:
        await anyio.sleep(0.2)  # one byte now and then, never the end
        return {"type": "http.request", "body": b" ", "more_body": True}

    async def scenario() -> None:
        with anyio.fail_after(10):
            await _both()

    async def _both() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(app, _scope(), trickle, send)
            await anyio.sleep(0.3)
            await app(_scope(), _fast_receive, send)

    with TestClient(app):
        anyio.run(scenario)
    assert statuses == [200, 408]


def test_an_unauthenticated_request_is_refused_before_its_body_is_read(
    assistant: Assistant,
) -> None:
    app = create_app(Settings(warmup=False, api_key="s3cret"), assistant=assistant)
    statuses: list[int] = []
    reads: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def never(*_: Any) -> dict[str, Any]:
        reads.append(1)
        await anyio.sleep(60)
        return {"type": "http.disconnect"}

    keyed = [(b"content-type", b"application/json"), (b"x-api-key", b"s3cret")]

    async def scenario() -> None:
        with anyio.fail_after(5):
            await app(_scope(), never, send)  # no key: refused at once, nothing read
            await app(_scope(headers=[*keyed[:1], (b"x-api-key", b"wrong")]), never, send)
            await app(_scope(headers=keyed), _fast_receive, send)

    with TestClient(app):
        anyio.run(scenario)
    assert statuses == [401, 401, 200]
    assert not reads
