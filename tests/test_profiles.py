"""Customer profiles: dominant type, support, stability, recency weighting, undetermined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from custtype import Assistant, InputError, type_name
from custtype.analytics.profiles import ProfileOptions, profile_file, profile_frame
from custtype.batch import ScoreOptions, score_file
from custtype.cli import app

runner = CliRunner()


def scored(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """A scored frame from (customer, label, confidence, time, language) tuples.

    label is a type key, 'none', 'undetermined' or None (a row that failed to score).
    """
    out = []
    for customer, label, conf, when, lang in rows:
        outcome = None if label is None else label if label in ("none", "undetermined") else "type"
        out.append(
            {
                "customer": customer,
                "custtype_type": label if outcome == "type" else None,
                "custtype_outcome": outcome,
                "custtype_confidence": conf,
                "custtype_language": lang,
                "sent": when,
            }
        )
    return pd.DataFrame(out)


def one(frame: pd.DataFrame, customer: str) -> pd.Series:
    return frame.set_index("customer").loc[customer]


def test_dominant_type_needs_support_and_share() -> None:
    df = scored(
        [
            ("A", "extortionist", 0.9, None, "en"),
            ("A", "extortionist", 0.8, None, "en"),
            ("A", "none", 0.7, None, "en"),
            ("A", "undetermined", 0.2, None, "en"),
            ("A", None, None, None, None),
        ]
    )
    row = one(profile_frame(df, "customer"), "A")
    assert (row["messages"], row["scored"], row["undetermined"], row["errors"]) == (5, 3, 1, 1)
    assert row["profile_outcome"] == "type" and row["profile_type"] == "extortionist"
    assert row["support"] == 2
    assert row["share"] == pytest.approx(1.7 / 2.4, abs=1e-4)
    assert row["share_none"] == pytest.approx(0.7 / 2.4, abs=1e-4)
    assert row["stability"] == 1.0 and row["stability_level"] == "high"
    assert row["internal_only"]
    assert row["strategy"].startswith(type_name("extortionist", "en"))


@pytest.mark.parametrize(
    ("rows", "outcome", "reason"),
    [
        ([("B", "tester", 0.99, None, "en")], "undetermined", "a profile needs 2"),
        (
            [
                ("C", "none", 0.9, None, "en"),
                ("C", "none", 0.9, None, "en"),
                ("C", "tester", 0.5, None, "en"),
            ],
            "none",
            None,
        ),
        (
            [
                ("D", "tester", 1.0, None, "en"),
                ("D", "tester", 1.0, None, "en"),
                ("D", "know_it_all", 1.0, None, "en"),
                ("D", "know_it_all", 1.0, None, "en"),
            ],
            "undetermined",
            "mixed types",
        ),
        (
            [("E", "undetermined", 0.3, None, "en"), ("E", None, None, None, None)],
            "undetermined",
            "0 scored message",
        ),
        (
            [
                ("F", "tester", 0.9, None, "en"),
                ("F", "prize_hunter", 0.9, None, "en"),
                ("F", "none", 0.9, None, "en"),
            ],
            "undetermined",
            "no type is shown by enough",
        ),
    ],
)
def test_too_little_evidence_stays_undetermined(
    rows: list[tuple[Any, ...]], outcome: str, reason: str | None
) -> None:
    row = one(profile_frame(scored(rows), "customer"), rows[0][0])
    assert row["profile_outcome"] == outcome
    assert pd.isna(row["profile_type"])
    if reason is None:
        assert pd.isna(row["reason"])
    else:
        assert reason in row["reason"]


def test_recent_messages_weigh_more_with_a_half_life() -> None:
    rows = [
        ("G", "tester", 1.0, "2026-01-01", "en"),
        ("G", "tester", 1.0, "2026-01-01", "en"),
        ("G", "know_it_all", 1.0, "2026-06-30T00:00:00Z", "en"),
        ("G", "know_it_all", 1.0, "2026-06-30", "en"),
    ]
    df = scored(rows)
    timed = one(profile_frame(df, "customer", "sent", half_life_days=90.0), "G")
    # 180 days = two half-lives: each old message weighs 0.25, each recent one 1
    assert timed["profile_type"] == "know_it_all"
    assert timed["share"] == pytest.approx(2 / 2.5, abs=1e-4)
    assert timed["share_tester"] == pytest.approx(0.5 / 2.5, abs=1e-4)
    assert str(timed["first_seen"]).startswith("2026-01-01")
    assert str(timed["last_seen"]).startswith("2026-06-30")
    untimed = one(profile_frame(df, "customer"), "G")
    assert untimed["profile_outcome"] == "undetermined"  # a tie without recency


def test_message_without_a_time_counts_as_the_oldest() -> None:
    rows = [
        ("H", "tester", 1.0, "2026-01-01", "en"),
        ("H", "tester", 1.0, "not a date", "en"),
        ("H", "know_it_all", 1.0, "2026-03-02", "en"),
    ]
    row = one(profile_frame(scored(rows), "customer", "sent", half_life_days=60.0), "H")
    # weights: 0.5 (60 days older), 0.5 (no time: like the oldest), 1.0
    assert row["share_tester"] == pytest.approx(1.0 / 2.0, abs=1e-4)
    assert row["profile_outcome"] == "undetermined"  # tester and know_it_all tie at 1.0 each


def test_min_support_and_agent_language() -> None:
    df = scored([("P", "prize_hunter", 0.8, None, "pl")])
    row = one(profile_frame(df, "customer", min_support=1), "P")
    assert row["profile_type"] == "prize_hunter" and row["language"] == "pl"
    assert row["strategy"].startswith(type_name("prize_hunter", "pl"))
    row_en = one(profile_frame(df, "customer", min_support=1, agent_lang="en"), "P")
    assert row_en["strategy"].startswith(type_name("prize_hunter", "en"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"half_life_days": 0}, "half_life_days: Input should be greater than 0"),
        ({"min_share": 1.5}, "min_share: Input should be less than or equal to 1"),
        ({"min_support": 0}, "min_support: Input should be greater than or equal to 1"),
        ({"time_column": "when"}, "No column 'when'"),
        ({"customer_column": "client"}, "No column 'client'"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"customer_column": "customer", **kwargs}
    with pytest.raises(InputError, match=match):
        profile_frame(scored([("A", "none", 0.9, None, "en")]), **args)


MESSAGES = {
    "k1": [
        "Where is my order?? I need it TODAY, why is it still not done!!!",
        "Still nothing?! I asked an hour ago, I need an answer right now!!!",
        "Please reset my password",
    ],
    "k2": ["Gdzie jest moja paczka? Czekam już tydzień i nikt nie odpowiada!"],
}


def _raw_messages(tmp_path: Path) -> Path:
    rows = [
        {"id": f"{c}-{i}", "customer": c, "text": t, "sent": f"2026-0{i + 1}-01"}
        for c, texts in MESSAGES.items()
        for i, t in enumerate(texts)
    ]
    rows.append({"id": "k3-0", "customer": "k3", "text": "", "sent": "2026-01-01"})
    path = tmp_path / "messages.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_profile_frame_scores_raw_messages(assistant: Assistant, tmp_path: Path) -> None:
    raw = pd.read_csv(_raw_messages(tmp_path), dtype=str, keep_default_na=False)
    table = profile_frame(raw, "customer", "sent", assistant=assistant)
    assert table["customer"].tolist() == ["k1", "k2", "k3"]
    assert table["messages"].tolist() == [3, 1, 1]
    assert table.set_index("customer").at["k3", "errors"] == 1
    shares = table[[c for c in table.columns if c.startswith("share_")]]
    assert ((shares.sum(axis=1) - 1.0).abs() < 1e-3).tolist() == [True, True, False]


def test_profile_of_raw_and_scored_files_agree(tmp_path: Path) -> None:
    raw = _raw_messages(tmp_path)
    scored_file = tmp_path / "scored.parquet"
    score_file(raw, scored_file, ScoreOptions(evidence=False))
    opts = ProfileOptions(customer_column="customer", time_column="sent")
    from_raw = profile_file(raw, tmp_path / "a.csv", opts)
    from_scored = profile_file(scored_file, tmp_path / "b.jsonl", opts)
    cols = ["customer", "messages", "profile_outcome", "share_none", "share_want_it_now"]
    pd.testing.assert_frame_equal(from_raw[cols], from_scored[cols])
    written = pd.read_csv(tmp_path / "a.csv")
    assert written["customer"].tolist() == ["k1", "k2", "k3"]
    scored_csv = tmp_path / "scored.csv"  # empty CSV cells must read back as missing
    score_file(raw, scored_csv, ScoreOptions(evidence=False))
    from_csv = profile_file(scored_csv, tmp_path / "c.csv", opts)
    pd.testing.assert_frame_equal(from_csv[cols], from_raw[cols])
    assert from_csv["errors"].tolist() == [0, 0, 1]


def test_cli_profile(tmp_path: Path) -> None:
    out = tmp_path / "profiles.parquet"
    result = runner.invoke(
        app,
        [
            "profile",
            str(_raw_messages(tmp_path)),
            "--customer-column",
            "customer",
            "--time-column",
            "sent",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 3 customer profiles" in result.stderr
    assert "never show or mention it to the customer" in result.stderr
    assert len(pd.read_parquet(out)) == 3
    bad = runner.invoke(
        app,
        ["profile", str(_raw_messages(tmp_path)), "--customer-column", "client", "-o", str(out)],
    )
    assert bad.exit_code == 2 and "no column 'client'" in bad.stderr


def test_rows_without_a_customer_belong_to_no_one_and_bad_dates_are_said(tmp_path: Path) -> None:
    src = tmp_path / "messages.csv"
    pd.DataFrame(
        [
            {"customer": "k1", "text": "Где мой заказ?", "sent": "2026-01-01"},
            {"customer": "k1", "text": "Спасибо, всё пришло", "sent": "nie data"},
            {"customer": "", "text": "Gdzie jest paczka?", "sent": "2026-01-03"},
            {"customer": "  ", "text": "Where is my parcel?", "sent": "2026-01-04"},
        ]
    ).to_csv(src, index=False, sep=";", encoding="cp1251")
    out = tmp_path / "p.csv"
    args = ["profile", str(src), "--customer-column", "customer", "--time-column", "sent"]
    r = runner.invoke(app, [*args, "-o", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbfcustomer;")  # as it came: ';', for Excel
    assert pd.read_csv(out, dtype=str, sep=";")["customer"].tolist() == ["k1"]  # no "" one
    assert "2 row(s) without a 'customer' value: left out" in r.stderr
    assert "1 row(s) with a 'sent' value that is not a date or time" in r.stderr
