"""The agent page in a real headless Chromium against uvicorn on loopback."""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright

from custtype import Assistant, load_playbook, type_name
from custtype.api import Settings, create_app

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A non-BMP emoji before the evidence (offsets are code points) and markup that must stay text.
MESSAGE = (
    "😀 <img src=x onerror=alert(1)> Did I win the Christmas giveaway? I tagged 3 friends "
    "and shared the post twice! When is the next draw?"
)
KEY = "page-key"


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found:
        return found
    message = "Chromium is missing: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(assistant: Assistant, settings: Settings) -> Iterator[str]:
    port = _free_port()
    app = create_app(settings, assistant=assistant)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def base_url(assistant: Assistant) -> Iterator[str]:
    yield from _serve(assistant, Settings(warmup=False))


@pytest.fixture(scope="module")
def keyed_url(assistant: Assistant) -> Iterator[str]:
    yield from _serve(assistant, Settings(warmup=False, api_key=KEY))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(locale="en-US")
    pg = context.new_page()
    problems: list[str] = []
    pg.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    pg.problems = problems
    yield pg
    context.close()


def _api(base: str, lang: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = {"text": MESSAGE, "channel": "social", "agent_lang": lang}
    r = httpx.post(f"{base}/v1/classify", json=body, headers=headers or {}, timeout=30)
    r.raise_for_status()
    result: dict[str, Any] = r.json()
    return result


def _expected_name(result: dict[str, Any], lang: str) -> str:
    if result["outcome"] == "type":
        return type_name(result["type"], lang)
    return type_name("none" if result["outcome"] == "none" else None, lang)


def _submit(page: Any) -> None:
    page.fill("#message", MESSAGE)
    page.select_option("#channel", "social")
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    expect(page.locator("#submit")).to_be_enabled()


def test_agent_page_classifies_highlights_and_switches_language(page: Any, base_url: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.goto(base_url)
    page.click("button.lang[data-lang='en']")
    notice = page.locator("#internal-notice")
    assert notice.is_visible() and "Never show" in notice.inner_text()

    _submit(page)
    api = _api(base_url, "en")

    # the type, labelled as internal
    assert page.inner_text("#type-name") == _expected_name(api, "en")
    assert page.locator("#internal-badge").is_visible()
    assert page.inner_text("#internal-badge") == "Internal — not for the customer"
    # the confidence bar
    pct = math.floor(api["confidence"] * 100 + 1e-9)  # never rounded up into the next band
    assert page.get_attribute("#confidence-bar", "aria-valuenow") == str(pct)
    width = page.eval_on_selector("#confidence-fill", "e => e.style.width")
    assert width == f"{pct}%"
    hint = page.get_attribute("#confidence-text", "title") or ""
    assert ("real labelled tickets" in hint) == (api["outcome"] == "type")  # what it means
    assert page.inner_text("#language") == "en"

    # evidence highlighted at the right places; the markup stayed text
    marks = page.locator("#highlighted mark").all_inner_texts()
    assert api["evidence"] and sorted(marks) == sorted(e["text"] for e in api["evidence"])
    shown = page.eval_on_selector("#highlighted", "e => e.firstChild ? e.textContent : ''")
    assert shown.startswith(MESSAGE)
    assert page.locator("#highlighted img").count() == 0

    # strategy and openers with working copy buttons
    openers = page.locator("#openers li .text").all_inner_texts()
    assert openers == api["strategy"]["strategy"]["openers"]
    first_copy = page.locator("#openers li .copy").first
    first_copy.click()
    expect(first_copy).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == openers[0]
    assert page.inner_text("#strategy-notice") == api["strategy"]["notice"]

    # the agent's language: labels and the strategy switch to Russian
    page.click("button.lang[data-lang='ru']")
    expect(page.locator("#strategy-notice")).to_have_text(re.compile("^Внутренняя"), timeout=30_000)
    expect(page.locator("#submit")).to_be_enabled()
    assert page.inner_text("h1") == "Помощник: тип клиента"
    assert page.inner_text("#internal-badge") == "Внутреннее — не для клиента"
    assert page.inner_text("#strategy-notice") == load_playbook().notice["ru"]  # type: ignore[index]
    api_ru = _api(base_url, "ru")
    assert page.inner_text("#type-name") == _expected_name(api_ru, "ru")
    assert (
        page.locator("#openers li .text").all_inner_texts()
        == api_ru["strategy"]["strategy"]["openers"]
    )
    assert page.get_attribute("html", "lang") == "ru"
    assert page.problems == []


@pytest.mark.parametrize(
    ("lang", "title"), [("pl", "Asystent: typ klienta"), ("en", "Customer type assistant")]
)
def test_ui_labels_in_each_language(page: Any, base_url: str, lang: str, title: str) -> None:
    page.goto(base_url)
    page.click(f"button.lang[data-lang='{lang}']")
    assert page.inner_text("h1") == title
    assert page.get_attribute(f"button.lang[data-lang='{lang}']", "aria-pressed") == "true"
    channel_labels = page.locator("#channel option").all_inner_texts()
    assert len(channel_labels) == 10 and all(channel_labels)
    page.reload()  # the choice is remembered
    assert page.inner_text("h1") == title


def test_page_asks_for_the_api_key_when_needed(page: Any, keyed_url: str) -> None:
    page.goto(keyed_url)
    page.click("button.lang[data-lang='en']")
    page.fill("#message", MESSAGE)
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])")
    assert "API key" in page.inner_text("#error")
    assert page.locator("#key-box").get_attribute("open") is not None
    page.fill("#api-key", KEY)
    page.dispatch_event("#api-key", "change")
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    api = _api(keyed_url, "en", headers={"X-API-Key": KEY})
    assert page.inner_text("#type-name") == _expected_name(api, "en")
    assert page.is_hidden("#error")


def test_missing_chromium_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(Path, "exists", lambda self: False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium is missing"):
        _chromium()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="Chromium is missing"):
        _chromium()


def test_escalation_shows_only_its_reason(page: Any, base_url: str) -> None:
    """Public exposure escalates; the legal and channel rules that also apply are actions,
    not reasons to escalate, and must not be listed next to 'Escalate: yes'."""
    text = (
        "Third call about the broken washer. Fix it this week or I post the whole story on "
        "Facebook and file a complaint with the consumer protection office."
    )
    body = {"text": text, "channel": "phone", "agent_lang": "en"}
    api = httpx.post(f"{base_url}/v1/classify", json=body, timeout=30).json()
    assert api["strategy"]["escalation_reasons"] == ["public_exposure"]
    assert "legal_appeal" in api["strategy"]["rules_applied"]
    page.goto(base_url)
    page.click("button.lang[data-lang='en']")
    page.fill("#message", text)
    page.select_option("#channel", "phone")
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    assert page.inner_text("#strategy-facts dd.escalate") == "yes (public exposure)"
    assert page.problems == []


def test_a_paste_over_the_limit_is_refused_visibly_not_cut(page: Any, base_url: str) -> None:
    """The page used to cut a long paste to 20,000 characters and classify the rest."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/v1/classify" in r.url else None)
    page.goto(base_url)
    page.click("button.lang[data-lang='en']")
    long = "Where is my parcel? " * 1001  # 20,020 characters
    page.fill("#message", long)
    assert page.input_value("#message") == long  # nothing cut
    expect(page.locator("#char-count")).to_have_text("20,020 / 20,000 characters")
    expect(page.locator("#char-count")).to_have_class("char-count over")
    page.click("#submit")
    expect(page.locator("#error")).to_contain_text("the limit is 20,000")
    assert not sent  # refused before any request
    page.fill("#message", long[:19_990])
    expect(page.locator("#char-count")).to_have_class("char-count")
    assert not page.problems


def test_an_agent_corrects_the_type_and_sees_it_in_the_quality_tab(
    page: Any, base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page.goto(base_url)
    page.click("button.lang[data-lang='en']")
    _submit(page)
    expect(page.locator("#feedback")).to_be_visible()
    expect(page.locator("#action")).not_to_be_empty()
    page.click("#fb-correct")  # without an agent id: asked for it, nothing sent
    expect(page.locator("#fb-status")).to_have_text("Enter your agent id first.")
    page.fill("#agent-id", "agent-e2e")
    page.select_option("#fb-label", "none")
    page.click("#fb-correct")
    expect(page.locator("#fb-status")).to_contain_text("saved (correct: none)")
    expect(page.locator("#fb-correct")).to_be_disabled()  # one verdict per prediction
    shots = tmp_path_factory.mktemp("shots")
    page.screenshot(path=str(shots / "feedback.png"), full_page=True)
    page.click("#tab-quality")
    expect(page.locator("#analyse")).to_be_hidden()
    rows = page.locator("#quality-table tbody tr")
    expect(rows.first).to_be_visible()
    corrected = page.locator("#quality-table tbody td", has_text="No type shown 1")
    expect(corrected.first).to_be_visible()
    expect(page.locator("#calibration-table tbody tr")).to_have_count(6)  # confidence bands
    expect(page.locator("#weeks-table tbody tr").first).to_be_visible()  # this week's mix
    expect(page.locator("#verdict-weeks-table tbody tr").first).to_contain_text("-W")
    page.screenshot(path=str(shots / "quality.png"), full_page=True)
    if os.environ.get("CUSTTYPE_SCREENSHOTS"):
        for name in ("feedback.png", "quality.png"):
            shutil.copy(shots / name, Path(os.environ["CUSTTYPE_SCREENSHOTS"]) / name)
    assert not page.problems, page.problems


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("I am a lawyer and I know my rights, refund now or I will write a review", "undetermined"),
        ("Did I win the giveaway? When is the next draw?", "type"),  # no such line
    ],
)
def test_undetermined_evidence_names_the_closest_type(
    page: Any, base_url: str, text: str, outcome: str
) -> None:
    api = httpx.post(f"{base_url}/v1/classify", json={"text": text}, timeout=30).json()
    assert api["outcome"] == outcome
    page.goto(base_url)
    page.click("button.lang[data-lang='en']")
    page.fill("#message", text)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    toward = page.locator("#evidence-toward")
    if api["outcome"] != "undetermined":
        assert toward.is_hidden()
        return
    probs = api["probabilities"]
    closest = max((k for k in probs if k != "none"), key=probs.__getitem__)
    assert toward.is_visible()
    assert toward.inner_text().endswith(f"{type_name(closest, 'en')} ({closest})")
    assert page.problems == []
