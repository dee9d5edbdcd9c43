"""The HTML report: self-contained, states the notice, counts right, escapes message text."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from custtype import InputError
from custtype.analytics.report import build_report, gather
from custtype.batch import ScoreOptions, score_file
from custtype.cli import app

runner = CliRunner()
XSS = "<script>alert('x')</script>"


def row(
    label: str | None,
    conf: float | None,
    lang: str | None,
    channel: str,
    date: str,
    evidence: list[str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One scored row as `custtype score` writes it (label: type key, none, undetermined)."""
    outcome = None if label is None else label if label in ("none", "undetermined") else "type"
    return {
        "id": "x",
        "text": "t",
        "channel": channel,
        "date": date,
        "custtype_type": label if outcome == "type" else None,
        "custtype_outcome": outcome,
        "custtype_confidence": conf,
        "custtype_confidence_level": "high" if conf else None,
        "custtype_language": lang,
        "custtype_strategy": None,
        "custtype_evidence": json.dumps(evidence) if evidence is not None else None,
        "custtype_reason": None,
        "custtype_model_version": "m1",
        "custtype_error": error,
        "custtype_internal_only": True,
    }


ROWS = [
    row("extortionist", 0.93, "en", "Social", "2026-01-15", ["a voucher", XSS]),
    row("extortionist", 0.81, "pl", "social", "2026-01-20", ["A  Voucher"]),
    row("tester", 0.66, "ru", "email", "2026-02-03", ["steps to reproduce"]),
    row("none", 0.97, "en", "chat", "2026-02-10", ["where is"]),
    row("none", 0.88, "en", "", "garbage", []),
    row("undetermined", 0.31, "ru", "chat", "2026-02-11", []),
    row(None, None, None, "chat", "2026-03-01", error="line 8 (id '7'): column 'text' is empty"),
    row(None, None, None, "chat", "2026-03-02", error="line 12: column 'text' is empty"),
]


def write(
    tmp_path: Path, rows: list[dict[str, Any]], name: str = "scored.csv", drop: tuple[str, ...] = ()
) -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows).drop(columns=list(drop))
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def test_counts_match_the_rows(tmp_path: Path) -> None:
    data = gather(write(tmp_path, ROWS))
    assert data.rows == 8
    assert data.labels == Counter(
        {"extortionist": 2, "tester": 1, "none": 2, "undetermined": 1, "error": 2}
    )
    assert data.by_language["en"] == Counter({"extortionist": 1, "none": 2})
    assert data.by_language["(none)"] == Counter({"error": 2})
    assert data.by_channel["social"] == Counter({"extortionist": 2})  # case folded
    assert data.by_channel["(missing)"] == Counter({"none": 1})
    assert set(data.by_month) == {"2026-01", "2026-02", "2026-03", "(no date)"}
    assert data.terms["extortionist"]["a voucher"] == 2  # whitespace and case folded
    assert data.errors == Counter({"column 'text' is empty": 2})
    assert sum(data.confidence["type"]) == 3 and sum(data.confidence["none"]) == 2
    assert data.confidence["type"][13] == 1  # 0.66 falls in the bin [0.65, 0.70)


def test_chunking_does_not_change_counts(tmp_path: Path) -> None:
    path = write(tmp_path, ROWS * 3)
    whole, chunked = gather(path), gather(path, chunk_rows=5)
    assert whole.labels == chunked.labels and whole.by_month == chunked.by_month
    assert whole.confidence == chunked.confidence and whole.terms == chunked.terms


def test_page_is_self_contained_and_states_the_notice(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    build_report(write(tmp_path, ROWS, "scored.parquet"), out)
    page = out.read_text("utf-8")
    assert page.count("never show or mention it to the customer") == 2  # top and footer
    assert page.index("Responsible use") < page.index("<h2>")
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 5  # overall, language, channel, month, confidence
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"(src|href)=\"?https?:", page) and "<link" not in page
    assert "<script" not in page and "&lt;script&gt;" in page
    for heading in (
        "By language",
        "By channel (channel)",
        "By month (date)",
        "Confidence",
        "Top evidence phrases per type",
        "Errors",
    ):
        assert f"<h2>{heading}</h2>" in page


def test_optional_sections_follow_the_columns(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    build_report(write(tmp_path, ROWS, drop=("channel", "date")), out)
    page = out.read_text("utf-8")
    assert "By channel" not in page and "By month" not in page
    assert len(re.findall(r"<img ", page)) == 3


def test_named_columns_and_no_evidence(tmp_path: Path) -> None:
    rows = [{**r, "when": r["date"], "custtype_evidence": None} for r in ROWS]
    path = write(tmp_path, rows, drop=("date",))
    out = tmp_path / "r.html"
    data = build_report(path, out, channel_column="channel", date_column="when", title="Q1 <x>")
    page = out.read_text("utf-8")
    assert data.date_column == "when" and "By month (when)" in page
    assert "<title>Q1 &lt;x&gt;</title>" in page
    assert "No evidence in this file" in page


@pytest.mark.parametrize(
    ("kwargs", "drop", "match"),
    [
        ({}, ("custtype_outcome",), "not a scored file"),
        ({"date_column": "when"}, (), "no column 'when'"),
        ({"channel_column": "medium"}, (), "no column 'medium'"),
    ],
)
def test_bad_input_is_refused(
    tmp_path: Path, kwargs: dict[str, Any], drop: tuple[str, ...], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        build_report(write(tmp_path, ROWS, drop=drop), tmp_path / "r.html", **kwargs)
    assert not (tmp_path / "r.html").exists()


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", "utf-8")
    with pytest.raises(InputError, match="no rows"):
        gather(path)


def test_cli_report_on_a_scored_corpus_sample(corpus_dir: Path, tmp_path: Path) -> None:
    rows = []
    for lang in ("ru", "pl", "en"):
        with (corpus_dir / f"real_{lang}.jsonl").open(encoding="utf-8") as fh:
            rows += [json.loads(next(fh)) for _ in range(15)]
    src = tmp_path / "sample.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    scored = tmp_path / "scored.jsonl"
    score_file(src, scored, ScoreOptions())
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(scored), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "45 messages" in result.stderr
    page = out.read_text("utf-8")
    assert "45 messages" in page and "By language" in page
    bad = runner.invoke(app, ["report", str(src), "-o", str(out)])
    assert bad.exit_code == 2 and "not a scored file" in bad.stderr
