"""The helpdesk side of the loop through the CLI: importing an export, the quality report,
the audit export, retention; and the webhook's payload adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custtype.cli import app
from custtype.errors import InputError
from custtype.helpdesk.quality import quality
from custtype.helpdesk.webhook import adapt, signature_ok
from custtype.store.records import Store
from custtype.store.settings import StoreSettings

runner = CliRunner()

EXPORT = """ticket_id;text;predicted;corrected;agent_id;time
T1;Gdzie jest moja paczka, czekam juz tydzien, ile mozna!!!;want_it_now;;ag1;2026-11-30T10:00:00Z
T2;Where is the cashback from the spring promo?;prize_hunter;none;ag2;2026-12-01T10:00:00
T3;;tester;;ag1;
T4;Hi there;pirate;;ag1;
T5;Сколько можно ждать ответа?;want_it_now;unsure;ag3;2026-12-02
T6;Hello;none;;ag1;yesterday
"""


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("CUSTTYPE_STORE_URL", url)
    return url


def test_import_stores_good_rows_and_names_each_bad_one(tmp_path: Path, store_url: str) -> None:
    export = tmp_path / "export.csv"
    export.write_text(EXPORT, "utf-8")
    r = runner.invoke(app, ["feedback", "import", str(export)])
    assert r.exit_code == 1  # some rows refused
    assert f"{export}:4: text: give the text or its text_hash" in r.output
    assert f"{export}:5: predicted: 'pirate'" in r.output
    assert f"{export}:7: time: 'yesterday'" in r.output
    assert "stored 3 verdicts" in r.output
    store = Store.open(StoreSettings(url=store_url))
    rows = {
        (x["predicted"], x["verdict"], x["label"], x["language"]) for x in store.latest_verdicts()
    }
    assert rows == {
        ("want_it_now", "confirm", "want_it_now", "pl"),
        ("prize_hunter", "correct", "none", "en"),
        ("want_it_now", "unsure", None, "ru"),
    }


def test_import_of_jsonl_with_a_text_hash(tmp_path: Path, store_url: str) -> None:
    export = tmp_path / "export.jsonl"
    rows = [
        {
            "ticket_id": "Z1",
            "text_hash": "ab" * 32,
            "predicted": "tester",
            "corrected": "",
            "agent_id": "a",
            "language": "en",
        },
        "not an object",
    ]
    export.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", "utf-8")
    r = runner.invoke(app, ["feedback", "import", str(export)])
    assert "stored 1 verdicts" in r.output
    assert f"{export}:2: expected a JSON object" in r.output
    assert f"{export}:3: not valid JSON" in r.output
    store = Store.open(StoreSettings(url=store_url))
    [row] = store.latest_verdicts()
    assert store.prediction(row["id"])["text_hash"] == "ab" * 32  # type: ignore[index]


def test_report_and_audit_export_from_the_store(tmp_path: Path, store_url: str) -> None:
    export = tmp_path / "export.csv"
    export.write_text(EXPORT, "utf-8")
    runner.invoke(app, ["feedback", "import", str(export)])
    html = tmp_path / "feedback.html"
    r = runner.invoke(app, ["feedback", "report", "-o", str(html)])
    assert r.exit_code == 0, r.output
    page = html.read_text("utf-8")
    assert "never show or mention it to the customer" in page
    assert "<code>prize_hunter</code>" in page and "none 1" in page  # corrected to none
    assert "2026-W49" in page  # the type mix by week
    audit = tmp_path / "audit.jsonl"
    r = runner.invoke(app, ["audit", "export", "-o", str(audit)])
    assert r.exit_code == 0, r.output
    entries = [json.loads(line) for line in audit.read_text("utf-8").splitlines()]
    assert [e["action"] for e in entries] == [
        "feedback:confirm",
        "feedback:correct",
        "feedback:unsure",
    ]
    assert entries[0]["at"].startswith("2026-11-30T10:00:00") and entries[0]["actor"] == "ag1"
    r = runner.invoke(app, ["store", "purge"])
    assert r.exit_code == 0 and "cleared 0 texts" in r.output


def test_calibration_counts_agreement_per_confidence_bin() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [
        {
            "created_at": at,
            "language": "en",
            "predicted": "tester",
            "confidence": c,
            "verdict": v,
            "label": label,
            "verdict_at": at,
        }
        for c, v, label in [
            (0.95, "confirm", "tester"),
            (0.92, "correct", "none"),
            (0.55, "correct", "undecided"),
            (0.3, None, None),
        ]
    ]
    q = quality(rows)
    top = next(b for b in q.calibration if b.low == 0.9)
    assert (top.answered, top.confirmed, top.agreement) == (2, 1, 0.5)
    assert q.answered == 3 and q.predictions == 4
    assert q.to_dict()["verdict_weeks"] == [
        {"week": "2026-W49", "confirmed": 1, "corrected": 2, "unsure": 0}
    ]


def test_adapters_read_each_helpdesk() -> None:
    z = adapt(
        {
            "ticket": {
                "id": 9,
                "subject": "S",
                "description": "<p>a &amp; b</p><br>c",
                "via": {"channel": "twitter"},
                "locale": "pl-PL",
            }
        }
    )
    assert (z.ticket_id, z.our_channel(), z.our_language()) == ("9", "social", "pl")
    assert z.text() == "S\n\na & b\n\nc"
    f = adapt(
        {
            "freshdesk_webhook": {
                "ticket_id": 5,
                "ticket_subject": "x",
                "ticket_description": "y",
                "ticket_source": "Phone",
            }
        }
    )
    assert (f.ticket_id, f.our_channel()) == ("5", "call_transcript")
    with pytest.raises(InputError, match="ticket_id"):
        adapt({"subject": "no id"})


def test_the_signature_is_hmac_sha256_of_the_raw_body() -> None:
    import hashlib
    import hmac

    body = b'{"ticket_id": "1"}'
    good = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature_ok(b"k", body, good)
    assert not signature_ok(b"k", body + b" ", good)
    assert not signature_ok(b"other", body, good)
    assert not signature_ok(b"k", body, None)
