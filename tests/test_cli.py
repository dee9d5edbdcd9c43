"""The CLI through its runner: contract output, strategies, refusals, help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custtype.cli import app

runner = CliRunner()


def test_classify_json_contract() -> None:
    r = runner.invoke(app, ["classify", "Где мой заказ?! Жду уже неделю!!!", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["language"] == "ru"
    assert {
        "type",
        "confidence",
        "confidence_level",
        "probabilities",
        "evidence",
        "strategy",
        "model_version",
    } <= set(out)
    assert out["strategy"]["lang"] == "ru"


def test_classify_text_output_labels_the_type_internal() -> None:
    r = runner.invoke(app, ["classify", "Did I win the giveaway? When is the next draw?"])
    assert r.exit_code == 0
    assert "not for the customer" in r.stdout and "Openers" in r.stdout


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("Did I win the giveaway? When is the next draw?", True),
        ("Спасибо, всё получил.", False),
        ("Где моя посылка?", False),  # none at 0.8988: "0.89 (medium)", not "0.90 (medium)"
    ],
)
def test_classify_text_says_what_a_named_type_confidence_means(text: str, typed: bool) -> None:
    out = json.loads(runner.invoke(app, ["classify", text, "--format", "json"]).stdout)
    assert (out["outcome"] == "type") is typed
    line = next(
        x
        for x in runner.invoke(app, ["classify", text]).stdout.splitlines()
        if x.startswith("Confidence:")
    )
    shown = int(out["confidence"] * 100 + 1e-9) / 100  # cut, never rounded up into a band
    assert line.startswith(f"Confidence: {shown:.2f}")
    assert ("real tickets" in line) is typed


def test_classify_reads_stdin() -> None:
    r = runner.invoke(app, ["classify", "-", "--format", "json"], input="Kiedy wyniki konkursu?")
    assert json.loads(r.stdout)["language"] == "pl"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "   "], "the text is empty"),
        (["classify", "hello", "--channel", "pigeon"], "channel"),
        (["strategy", "extortionst"], "Known types"),
    ],
)
def test_bad_input_exits_non_zero_without_traceback(args: list[str], message: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code != 0
    assert message in r.output and "Traceback" not in r.output


def test_strategy_polish_json() -> None:
    r = runner.invoke(app, ["strategy", "extortionist", "--lang", "pl", "--format", "json"])
    out = json.loads(r.stdout)
    assert out["lang"] == "pl" and out["type"] == "extortionist"
    assert out["type_name"] == "Naciągacz"
    assert any(ch in " ".join(out["strategy"]["actions"]) for ch in "ąęłśż")


def test_invalid_override_is_one_paragraph(tmp_path: Path) -> None:
    bad = tmp_path / "acme.yaml"
    bad.write_text("types:\n  tester:\n    en:\n      priority: urgent\n")
    r = runner.invoke(app, ["strategy", "tester", "--playbook", str(bad)])
    assert r.exit_code == 2
    assert "acme.yaml" in r.output and "priority" in r.output
    assert r.output.strip().count("\n") == 0


def test_types_lists_all_seven() -> None:
    r = runner.invoke(app, ["types", "--lang", "ru", "--format", "json"])
    assert next(t["key"] for t in json.loads(r.stdout)) == "want_it_now"
    assert len(json.loads(r.stdout)) == 7


def test_data_check_fails_on_bad_data(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "x.jsonl").write_text("{oops\n")
    r = runner.invoke(app, ["data", "check", "--root", str(tmp_path)])
    assert r.exit_code == 1
    assert "x.jsonl:1: invalid JSON" in r.output


def test_evaluate_writes_plots_and_checks_real_traffic(repo_root: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [
        json.dumps({"text": t}, ensure_ascii=False)
        for t in [
            "Could you tell me when the new branch opens on Main Street?",
            "Did I win the giveaway?? I tagged three friends! When is the next draw?",
        ]
        * 12
    ]
    (corpus / "real_en.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            str(repo_root / "training_data"),
            "--out",
            str(tmp_path / "out"),
            "--corpus",
            str(corpus),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "confusion_matrix.png").stat().st_size > 1000
    assert (tmp_path / "out" / "reliability.png").stat().st_size > 1000
    assert "real traffic en: 24 messages, typed 50.0%" in r.stdout


@pytest.mark.parametrize(
    ("minutes", "shown"), [(15, "15 min"), (60, "1 h"), (90, "1 h 30 min"), (1440, "24 h")]
)
def test_reply_targets_read_as_an_agent_says_them(minutes: int, shown: str) -> None:
    from custtype.cli import _duration

    assert _duration(minutes) == shown


def test_a_teams_own_playbook_field_reaches_the_agent_in_text(tmp_path: Path) -> None:
    book = tmp_path / "acme.yaml"
    book.write_text(
        'types:\n  extortionist:\n    pl: {voucher_limit: "do 50 zł bez zgody kierownika",'
        " never_promise: [zwrot w gotówce, rabat powyżej 10%]}\n",
        encoding="utf-8",
    )
    text = "Jestem stałą klientką. Żądam rabatu 50%, inaczej wystawię negatywną opinię!"
    r = runner.invoke(app, ["strategy", "extortionist", "--lang", "pl", "--playbook", str(book)])
    assert r.exit_code == 0, r.output
    assert "Voucher limit: do 50 zł bez zgody kierownika" in r.stdout
    assert "Never promise:\n    - zwrot w gotówce\n    - rabat powyżej 10%" in r.stdout
    c = runner.invoke(app, ["classify", text, "--playbook", str(book)])
    assert c.exit_code == 0, c.output
    assert ("Voucher limit:" in c.stdout) == ("(extortionist)" in c.stdout)


def test_undetermined_evidence_names_the_type_it_argues_for() -> None:
    text = "I am a lawyer and I know my rights, refund now or I will write a review"
    out = json.loads(runner.invoke(app, ["classify", text, "--format", "json"]).stdout)
    assert out["outcome"] == "undetermined" and out["evidence"]
    probs = out["probabilities"]
    closest = max((k for k in probs if k != "none"), key=probs.__getitem__)
    lines = runner.invoke(app, ["classify", text]).stdout.splitlines()
    evidence = next(x for x in lines if x.startswith("Evidence"))
    assert (
        evidence.startswith("Evidence (toward ") and f"({closest}), below its threshold" in evidence
    )
