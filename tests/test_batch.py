"""Batch scoring: one output row per input row, in order, errors per row, resumable runs."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from custtype import Assistant, InputError
from custtype.batch import OUTPUT_COLUMNS, ScoreOptions, score_file, score_frame
from custtype.batch import run as batch_run_module
from custtype.batch.read import file_format
from custtype.batch.write import OutputJob, TextWriter
from custtype.cli import app

DATA = Path(__file__).parent / "data"
HOSTILE_CSV = DATA / "hostile.csv"
HOSTILE_JSONL = DATA / "hostile.jsonl"
# hostile.csv: id -> first physical line of the record (hand-counted; line 1 is the header)
CSV_IDS = [
    "001",
    "002",
    "003",
    "004",
    "005",
    "006",
    "007",
    "008",
    "009",
    "010",
    "011",
    "012",
    "013",
    "014",
    "015",
    "016",
    "017",
]
CSV_ERRORS = {
    "002": ("line 3", "empty"),
    "003": ("line 4", "empty"),
    "007": ("line 10", "expected 5 fields, found 7"),
    "008": ("line 11", "expected 5 fields, found 2"),
    "014": ("line 18", "column 'channel' has 'XYZ'; expected one of phone"),  # not ignored
    "017": ("line 21", "'de'"),
}
# hostile.jsonl: 11 records (the blank line is not one); line -> expected problem
JSONL_ERRORS = {
    2: "empty",
    3: "must be a string, got int",
    4: "must be a string, got list",
    6: "not valid JSON",
    7: "expected a JSON object, found list",
    11: "expected a JSON object, found str",
    12: "'xx'",
}
SAMPLES = {
    "en": "Where is my order?? I need it TODAY, why is it still not done!!!",
    "pl": "Gdzie jest moja paczka? Czekam już tydzień i nikt nie odpowiada!",
    "ru": "Здравствуйте! Я постоянный клиент и требую компенсацию, иначе напишу отзыв.",
}
runner = CliRunner()


def read_csv_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """Read a CSV with the standard library (independent of the code under test)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# -- formats and score_frame ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.TSV", "tsv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.parquet", "parquet"),
        ("-", "jsonl"),
    ],
)
def test_file_format_from_extension(name: str, fmt: str) -> None:
    assert file_format(name) == fmt


@pytest.mark.parametrize("name", ["a.txt", "a.json", "noext"])
def test_unknown_extension_is_refused(name: str) -> None:
    with pytest.raises(InputError, match="Cannot tell the format"):
        file_format(name)


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_score_frame_agrees_with_predict(assistant: Assistant, lang: str) -> None:
    df = pd.DataFrame({"text": [SAMPLES[lang]], "other": [7]}, index=[42])
    out = score_frame(df, assistant)
    pred = assistant.advise([SAMPLES[lang]])[0]
    row = out.loc[42]
    assert row["other"] == 7
    assert row["custtype_type"] == pred.type
    assert row["custtype_outcome"] == pred.outcome
    assert row["custtype_language"] == pred.language == lang
    assert row["custtype_confidence"] == pytest.approx(pred.confidence, abs=1e-4)
    assert row["custtype_error"] is None
    assert row["custtype_internal_only"] is True
    phrases = json.loads(row["custtype_evidence"])
    assert phrases == [e.text for e in pred.evidence]
    assert all(p in SAMPLES[lang] for p in phrases)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "empty"),
        ("", "empty"),
        ("  \n\t", "empty"),
        (42, "must be a string, got int"),
        (float("nan"), "empty"),
        ("x" * 20_001, "20001 characters; the limit is 20000"),
        (["a"], "must be a string, got list"),
    ],
)
def test_score_frame_marks_bad_rows(assistant: Assistant, value: object, problem: str) -> None:
    df = pd.DataFrame(
        {"text": [SAMPLES["en"], value, SAMPLES["pl"]]}, index=["a", "b", "c"], dtype=object
    )
    out = score_frame(df, assistant, evidence=False)
    assert list(out.index) == ["a", "b", "c"]
    assert out.at["b", "custtype_type"] is None and out.at["b", "custtype_outcome"] is None
    assert "row b" in out.at["b", "custtype_error"] and problem in out.at["b", "custtype_error"]
    assert out.loc[["a", "c"], "custtype_error"].isna().all()
    assert out.loc[["a", "c"], "custtype_outcome"].notna().all()
    assert out["custtype_evidence"].isna().all()  # evidence off


def test_score_frame_keeps_a_duplicate_index_and_names_ids(assistant: Assistant) -> None:
    df = pd.DataFrame(
        {"text": [SAMPLES["en"], "", SAMPLES["ru"]], "ref": ["x1", "x2", "x3"]}, index=[5, 5, 6]
    )
    out = score_frame(df, assistant, id_column="ref", evidence=False)
    assert list(out.index) == [5, 5, 6] and out["ref"].tolist() == ["x1", "x2", "x3"]
    errors = out["custtype_error"].tolist()
    assert errors[0] is None and errors[2] is None
    assert errors[1].startswith("row 5 (id 'x2'): column 'text' is empty")


def test_score_frame_exactly_20000_chars_is_scored(assistant: Assistant) -> None:
    text = ("Where is my order? " * 1100)[:20_000]
    out = score_frame(pd.DataFrame({"text": [text]}), assistant, evidence=False)
    assert out.at[0, "custtype_error"] is None
    assert out.at[0, "custtype_outcome"] in ("type", "none", "undetermined")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"text_column": "body"}, "no column 'body'"),
        ({"lang_column": "lng"}, "no column 'lng'"),
        ({"lang": "de"}, "lang: Input should be 'ru', 'pl' or 'en'"),
        ({"strategy": "xml"}, "strategy: Input should be 'summary' or 'json'"),
    ],
)
def test_score_frame_refuses_bad_arguments(
    assistant: Assistant, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InputError, match=match):
        score_frame(pd.DataFrame({"text": ["hi"]}), assistant, **kwargs)


def test_predict_frame_and_lang_column(assistant: Assistant) -> None:
    df = pd.DataFrame({"text": [SAMPLES["pl"], SAMPLES["en"]], "lng": [" PL", "xx"]})
    out = score_frame(df, assistant, lang_column="lng", evidence=False)
    assert out.at[0, "custtype_language"] == "pl" and out.at[0, "custtype_error"] is None
    assert "column 'lng' has 'xx'" in out.at[1, "custtype_error"]
    framed = score_frame(df[["text"]], assistant)
    assert set(OUTPUT_COLUMNS) <= set(framed.columns) and len(framed) == 2


def test_strategy_json_and_replaced_columns(assistant: Assistant) -> None:
    df = pd.DataFrame({"text": [SAMPLES["ru"]], "custtype_type": ["stale"]})
    out = score_frame(df, assistant, strategy="json", evidence=False)
    assert list(out.columns).count("custtype_type") == 1
    assert out.at[0, "custtype_type"] != "stale"
    strategy = json.loads(out.at[0, "custtype_strategy"])
    assert strategy["internal_only"] is True and strategy["lang"] == "ru"


# -- hostile files ---------------------------------------------------------------------------
def test_hostile_csv_keeps_every_row_id_and_order(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    summary = score_file(
        HOSTILE_CSV, out, ScoreOptions(lang_column="lang", channel_column="channel")
    )
    rows = read_csv_rows(out)
    source = read_csv_rows(HOSTILE_CSV)
    assert [r["id"] for r in rows] == CSV_IDS
    assert summary.rows == len(CSV_IDS) and summary.errors == len(CSV_ERRORS)
    for row in rows:
        if row["id"] in CSV_ERRORS:
            where, problem = CSV_ERRORS[row["id"]]
            assert row["custtype_error"].startswith(f"{where} (id '{row['id']}')")
            assert problem in row["custtype_error"]
            assert row["custtype_type"] == "" and row["custtype_outcome"] == ""
        else:
            assert row["custtype_error"] == ""
            assert row["custtype_outcome"] in ("type", "none", "undetermined")
            assert row["custtype_model_version"] and row["custtype_internal_only"] == "true"
    by_id = {r["id"]: r for r in rows}
    for src in source:  # well-formed rows keep their cells exactly (multi-line, formula, emoji)
        if src["id"] not in ("007", "008"):
            assert by_id[src["id"]]["text"] == src["text"]
    assert by_id["004"]["text"].count("\n") == 2
    assert by_id["016"]["text"] == "=cmd|'/C calc'!A0"
    assert by_id["005"]["custtype_outcome"] == "undetermined"  # emoji only: no language


def test_hostile_csv_big_cells_bad_utf8_and_limits(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    ok = ("Please help, where is my order? " * 700)[:20_000]
    body = (
        HOSTILE_CSV.read_bytes()
        + (
            f'100,"{"ą" * 200_000}",pl,chat,2026-04-01\n'
            f'101,"{ok}",en,chat,2026-04-02\n'
            f'102,"{ok}x",en,chat,2026-04-03\n'
        ).encode()
        + b"103,caf\xe9 latin-1 bytes,en,chat,2026-04-04\n"
        + (f'104,"{SAMPLES["en"]}",en,chat,2026-04-05\n').encode()
    )
    src.write_bytes(body)
    out = tmp_path / "big.jsonl"
    score_file(src, out, ScoreOptions(evidence=False))
    rows = {r["id"]: r for r in read_jsonl(out)}
    assert len(rows) == len(CSV_IDS) + 5
    assert "line 22 (id '100')" in rows["100"]["custtype_error"]
    assert "200000 characters" in rows["100"]["custtype_error"]
    assert rows["101"]["custtype_error"] is None
    assert "20001 characters" in rows["102"]["custtype_error"]
    assert "not valid UTF-8" in rows["103"]["custtype_error"]
    assert rows["104"]["custtype_error"] is None and rows["104"]["custtype_outcome"]


def test_unclosed_quote_at_end_is_reported(tmp_path: Path) -> None:
    src = tmp_path / "open.csv"
    src.write_text(f'id,text\n1,{SAMPLES["en"]}\n2,"never closed\n3,lost\n4,lost too\n', "utf-8")
    out = tmp_path / "open.csv.out.csv"
    score_file(src, out, ScoreOptions(evidence=False))
    rows = read_csv_rows(out)
    assert [r["id"] for r in rows] == ["1", "2"]
    assert "line 3" in rows[1]["custtype_error"] and "never closed" in rows[1]["custtype_error"]


def test_hostile_jsonl_rows_and_nested_values(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    score_file(HOSTILE_JSONL, out, ScoreOptions(lang_column="lang"))
    rows = read_jsonl(out)
    assert len(rows) == 11
    lines = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12]
    for line, row in zip(lines, rows, strict=True):
        if line in JSONL_ERRORS:
            assert row["custtype_error"].startswith(f"line {line}")
            assert JSONL_ERRORS[line] in row["custtype_error"]
            assert row["custtype_type"] is None
        else:
            assert row["custtype_error"] is None, row
    assert rows[4]["meta"] == {"source": "form", "tags": ["x", 1]}
    assert rows[7]["custtype_language"] == "en"  # lang "EN " is accepted


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet"])
def test_every_output_format_keeps_rows(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out.{ext}"
    score_file(HOSTILE_CSV, out, ScoreOptions(evidence=False))
    if ext == "parquet":
        frame = pd.read_parquet(out)
        ids, errors = frame["id"].tolist(), frame["custtype_error"].notna().sum()
        assert frame["custtype_internal_only"].all()
    elif ext == "jsonl":
        rows = read_jsonl(out)
        ids, errors = [r["id"] for r in rows], sum(r["custtype_error"] is not None for r in rows)
    else:
        rows = read_csv_rows(out, "\t" if ext == "tsv" else ",")
        ids, errors = [r["id"] for r in rows], sum(r["custtype_error"] != "" for r in rows)
    assert ids == CSV_IDS
    assert errors == 4  # the lang column is not used here, so 017 is scored
    assert not list(tmp_path.glob("*.part*"))


def test_jsonl_to_parquet_keeps_mixed_columns(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    score_file(HOSTILE_JSONL, out, ScoreOptions(evidence=False))
    frame = pd.read_parquet(out)
    assert len(frame) == 11
    assert frame.loc[2, "text"] == "42"  # a number in a text column is kept as JSON text
    assert json.loads(frame.loc[4, "meta"]) == {"source": "form", "tags": ["x", 1]}


# -- failures that leave nothing behind --------------------------------------------------------
def test_missing_text_column_fails_before_writing(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,hello\n", "utf-8")
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match=r"no column 'text'; its columns are: id, body"):
        score_file(src, out)
    assert list(tmp_path.iterdir()) == [src]


def test_jsonl_without_text_field_fails_early(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "body": "hello"}\n{"id": 2, "body": "again"}\n', "utf-8")
    with pytest.raises(InputError, match="no line has the field 'text'"):
        score_file(src, tmp_path / "out.jsonl")
    assert list(tmp_path.iterdir()) == [src]


@pytest.mark.parametrize(
    ("content", "match"),
    [("", "is empty: expected a header row"), ("id,id,text\n1,2,x\n", "appears more than once")],
)
def test_bad_csv_header_is_refused(tmp_path: Path, content: str, match: str) -> None:
    src = tmp_path / "in.csv"
    src.write_text(content, "utf-8")
    with pytest.raises(InputError, match=match):
        score_file(src, tmp_path / "out.csv")


# -- resume ------------------------------------------------------------------------------------
def _interrupt_on(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, call: int) -> None:
    """Make owner.name raise KeyboardInterrupt after running on its `call`-th call."""
    original: Callable[..., Any] = getattr(owner, name)
    calls = {"n": 0}

    def wrapped(self: Any, *args: Any) -> Any:
        result = original(self, *args)
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(owner, name, wrapped)


@pytest.mark.parametrize(
    ("ext", "owner", "name"),
    [
        ("csv", OutputJob, "commit"),
        ("jsonl", TextWriter, "write"),
        ("parquet", OutputJob, "commit"),
    ],
)
def test_resume_continues_without_doubling_or_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str, owner: Any, name: str
) -> None:
    opts = ScoreOptions(evidence=False)
    clean = tmp_path / f"clean.{ext}"
    score_file(HOSTILE_CSV, clean, opts, chunk_rows=3)
    out = tmp_path / f"out.{ext}"
    with monkeypatch.context() as m:
        _interrupt_on(m, owner, name, call=3)
        with pytest.raises(KeyboardInterrupt):
            score_file(HOSTILE_CSV, out, opts, chunk_rows=3)
    assert not out.exists()
    checkpoint = json.loads((tmp_path / f"out.{ext}.part.json").read_text())
    assert checkpoint["rows"] == (9 if name == "commit" else 6)
    summary = score_file(HOSTILE_CSV, out, opts, chunk_rows=3, resume=True)
    assert summary.resumed_from == checkpoint["rows"]
    assert summary.rows == len(CSV_IDS) - checkpoint["rows"]
    if ext == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(clean))
    else:
        assert out.read_bytes() == clean.read_bytes()
    assert not list(tmp_path.glob("*.part*"))


def test_resume_refuses_changed_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.csv"
    with monkeypatch.context() as m:
        _interrupt_on(m, OutputJob, "commit", call=1)
        with pytest.raises(KeyboardInterrupt):
            score_file(HOSTILE_CSV, out, ScoreOptions(evidence=False), chunk_rows=3)
    with pytest.raises(InputError, match="the scoring options changed since the interrupted run"):
        score_file(HOSTILE_CSV, out, ScoreOptions(evidence=True), chunk_rows=3, resume=True)


def test_resume_refuses_a_changed_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.csv"
    shutil.copy(HOSTILE_CSV, src)
    out = tmp_path / "out.csv"
    with monkeypatch.context() as m:
        _interrupt_on(m, OutputJob, "commit", call=1)
        with pytest.raises(KeyboardInterrupt):
            score_file(src, out, chunk_rows=3)
    with src.open("a", encoding="utf-8") as fh:
        fh.write("999,one more row,en,chat,2026-05-01\n")
    with pytest.raises(InputError, match="the input file changed since"):
        score_file(src, out, chunk_rows=3, resume=True)


def test_resume_without_checkpoint_starts_fresh(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    summary = score_file(HOSTILE_CSV, out, ScoreOptions(evidence=False), resume=True)
    assert summary.resumed_from == 0 and len(read_csv_rows(out)) == len(CSV_IDS)


def test_resume_needs_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--resume needs an input file"):
        score_file("-", tmp_path / "o.jsonl", resume=True)


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_score_file_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    result = runner.invoke(
        app, ["score", str(HOSTILE_CSV), "-o", str(out), "--no-evidence", "--lang-column", "lang"]
    )
    assert result.exit_code == 0, result.output
    assert f"scored {len(CSV_IDS)} rows" in result.stderr
    assert "5 rows could not be scored" in result.stderr
    assert "never show or mention it to the customer" in result.stderr
    assert "rows/s" in result.stderr and "%|" not in result.stderr  # no bar in a pipe
    assert len(pd.read_parquet(out)) == len(CSV_IDS)


def test_cli_stdin_to_stdout() -> None:
    lines = [
        json.dumps({"id": i, "text": SAMPLES[k]}, ensure_ascii=False)
        for i, k in enumerate(sorted(SAMPLES))
    ]
    result = runner.invoke(
        app, ["score", "-", "-o", "-", "--no-evidence"], input="\n".join(lines) + "\n{bad\n"
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["id"] for r in rows[:3]] == [0, 1, 2]
    assert [r["custtype_language"] for r in rows[:3]] == sorted(SAMPLES)
    assert "line 4: not valid JSON" in rows[3]["custtype_error"]


def test_cli_progress_bar_when_asked(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["score", str(HOSTILE_CSV), "-o", str(tmp_path / "o.csv"), "--no-evidence", "--progress"],
    )
    assert result.exit_code == 0 and "rows/s" in result.stderr and "%|" in result.stderr


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["missing.csv", "-o", "o.csv"], "does not exist"),
        ([str(HOSTILE_CSV), "-o", "o.xyz"], "Cannot tell the format"),
        ([str(HOSTILE_CSV), "-o", "o.xlsx"], "write the scored table as .csv"),
        ([str(HOSTILE_CSV), "-o", "o.csv", "--text-column", "body"], "no column 'body'"),
        ([str(HOSTILE_CSV), "-o", "o.csv", "--scheduler", "tcp://x:1"], "needs --engine dask"),
    ],
)
def test_cli_score_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], match: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["score", *args])
    assert result.exit_code == 2
    assert match in result.stderr


# -- real corpus, processes and Dask ----------------------------------------------------------
def _corpus_csv(corpus_dir: Path, tmp_path: Path, per_lang: int) -> Path:
    rows = []
    for lang in ("ru", "pl", "en"):
        with (corpus_dir / f"real_{lang}.jsonl").open(encoding="utf-8") as fh:
            rows += [json.loads(next(fh)) for _ in range(per_lang)]
    path = tmp_path / "corpus.csv"
    pd.DataFrame(rows)[["id", "lang", "source", "text"]].to_csv(path, index=False)
    return path


def test_real_corpus_rows_in_equal_rows_out(corpus_dir: Path, tmp_path: Path) -> None:
    src = _corpus_csv(corpus_dir, tmp_path, per_lang=40)
    out = tmp_path / "scored.csv"
    score_file(src, out)
    source, rows = read_csv_rows(src), read_csv_rows(out)
    assert [r["id"] for r in rows] == [r["id"] for r in source]
    assert all(r["custtype_error"] == "" for r in rows)
    same_lang = sum(r["custtype_language"] == r["lang"] for r in rows)
    assert same_lang >= 0.95 * len(rows)
    for row in rows:  # evidence phrases come from the message itself
        assert all(p in row["text"] for p in json.loads(row["custtype_evidence"]))


def _mixed_csv(corpus_dir: Path, tmp_path: Path) -> tuple[Path, int]:
    """The hostile rows followed by real corpus rows (quoted as CSV by pandas)."""
    corpus = pd.read_csv(_corpus_csv(corpus_dir, tmp_path, per_lang=8), dtype=str)
    corpus = corpus.assign(
        id=[f"9{i:03d}" for i in range(len(corpus))], channel="chat", date="2026-06-01"
    )[["id", "text", "lang", "channel", "date"]]
    src = tmp_path / "mixed.csv"
    src.write_text(
        HOSTILE_CSV.read_text("utf-8-sig") + corpus.to_csv(index=False, header=False), "utf-8"
    )
    return src, len(CSV_IDS) + len(corpus)


@pytest.fixture(scope="module")
def dask_scheduler() -> Any:
    """One local Dask cluster for the module's tests (its address, as --scheduler takes)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.slow
def test_two_jobs_match_one_job(corpus_dir: Path, tmp_path: Path) -> None:
    src, n = _mixed_csv(corpus_dir, tmp_path)
    opts = ScoreOptions(lang_column="lang", channel_column="channel")
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    score_file(src, one, opts, chunk_rows=5)
    score_file(src, two, opts, chunk_rows=5, jobs=2)
    assert one.read_bytes() == two.read_bytes()
    assert len(read_csv_rows(one)) == n


@pytest.mark.slow
def test_dask_engine_matches_local(corpus_dir: Path, tmp_path: Path, dask_scheduler: str) -> None:
    src, n = _mixed_csv(corpus_dir, tmp_path)
    opts = ScoreOptions(lang_column="lang", channel_column="channel")
    local, dask = tmp_path / "local.csv", tmp_path / "dask.csv"
    score_file(src, local, opts)
    score_file(src, dask, opts, engine="dask", scheduler=dask_scheduler, partition_rows=7)
    assert local.read_bytes() == dask.read_bytes()
    assert len(read_csv_rows(dask)) == n
    local_pq, dask_pq = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    score_file(HOSTILE_JSONL, local_pq, ScoreOptions(lang_column="lang"))
    score_file(
        HOSTILE_JSONL,
        dask_pq,
        ScoreOptions(lang_column="lang"),
        engine="dask",
        scheduler=dask_scheduler,
        partition_rows=4,
    )
    pd.testing.assert_frame_equal(pd.read_parquet(local_pq), pd.read_parquet(dask_pq))


@pytest.mark.slow
def test_dask_engine_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dask_scheduler: str
) -> None:
    opts = ScoreOptions(evidence=False)
    clean, out = tmp_path / "clean.csv", tmp_path / "out.csv"
    score_file(HOSTILE_CSV, clean, opts)
    run: dict[str, Any] = {"engine": "dask", "scheduler": dask_scheduler, "partition_rows": 4}
    with monkeypatch.context() as m:
        _interrupt_on(m, OutputJob, "commit", call=2)
        with pytest.raises(KeyboardInterrupt):
            score_file(HOSTILE_CSV, out, opts, **run)
    summary = score_file(HOSTILE_CSV, out, opts, resume=True, **run)
    assert summary.resumed_from == 8 and summary.rows == len(CSV_IDS) - 8
    assert out.read_bytes() == clean.read_bytes()


@pytest.mark.slow
def test_local_dask_cluster_runs_without_the_worker_profiler() -> None:
    """The engine's own cluster turns off the 10 ms stack sampler (~8% of worker CPU)."""
    import dask

    from custtype.batch.dask import dask_client

    with dask_client(None, 1) as client:
        found = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert list(found.values()) == [False]
    assert dask.config.get("distributed.worker.profile.enabled") is True  # ours only


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"jobs": 0}, "jobs: Input should be greater than or equal to 1"),
        ({"chunk_rows": 0}, "chunk_rows: Input should be greater than or equal to 1"),
        ({"engine": "spark"}, "engine: Input should be 'local' or 'dask'"),
        ({"delimiter": ";;"}, "delimiter: String should have at most 1 character"),
        ({"scheduler": "tcp://x:1"}, "scheduler: --scheduler needs --engine dask"),
        ({"job": 2}, "job: Extra inputs are not permitted"),
    ],
)
def test_run_options_are_checked_when_made(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        batch_run_module.RunOptions(**kwargs)
    assert batch_run_module.RunOptions(engine="dask", scheduler="tcp://x:1").jobs == 1
    assert batch_run_module.RunOptions(model=Path("m"), playbook=Path("p.yaml")).model == "m"


# -- workers die with the job (#16) --------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_die_when_the_job_is_killed(tmp_path: Path) -> None:
    """kill -9 of `custtype score --jobs 2` must not leave its workers running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "in.csv"
    rows = [
        {"id": i, "text": f"Gdzie jest moja paczka numer {i}? Czekam od tygodnia!"}
        for i in range(20_000)
    ]
    pd.DataFrame(rows).to_csv(src, index=False)
    cli = Path(sys.executable).parent / "custtype"
    job = subprocess.Popen(
        [str(cli), "score", str(src), "-o", str(tmp_path / "out.csv"), "--jobs", "2",
         "--chunk-rows", "200", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        checkpoint = tmp_path / "out.csv.part.json"
        deadline = time.monotonic() + 120
        while not checkpoint.exists():  # workers loaded the model and scored a chunk
            assert job.poll() is None, "the job ended before it could be killed"
            assert time.monotonic() < deadline, "the job did not start scoring"
            time.sleep(0.2)
        workers = _children(job.pid)
        assert len(workers) >= 2  # the two pool workers (and multiprocessing's helper)
        os.kill(job.pid, signal.SIGKILL)
        job.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "workers outlived their job"
    finally:
        if job.poll() is None:
            job.kill()


def test_the_output_may_not_be_the_input(tmp_path: Path) -> None:
    src = tmp_path / "same.csv"
    src.write_text("id,text\n1,Gdzie paczka?\n", "utf-8")
    before = src.read_bytes()
    for target in (src, tmp_path / "." / "same.csv"):
        with pytest.raises(InputError, match="is the input file"):
            score_file(src, target)
    link = tmp_path / "link.csv"
    link.hardlink_to(src)
    with pytest.raises(InputError, match="is the input file"):
        score_file(src, link)
    assert src.read_bytes() == before
    r = CliRunner().invoke(app, ["score", str(src), "-o", str(src), "--no-progress"])
    assert r.exit_code != 0 and "is the input file" in r.output


def test_a_full_disk_names_the_file_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, assistant: Assistant
) -> None:
    import errno

    src = tmp_path / "in.csv"
    pd.DataFrame({"text": [f"Gdzie paczka {i}?" for i in range(30)]}).to_csv(src, index=False)
    monkeypatch.setattr(batch_run_module, "cached_assistant", lambda *a: assistant)
    real = TextWriter.write
    calls: list[int] = []

    def full(self: TextWriter, frame: pd.DataFrame) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, frame)

    monkeypatch.setattr(TextWriter, "write", full)
    target = tmp_path / "out.csv"
    with pytest.raises(InputError, match=r"No space left .*out\.csv.*--resume"):
        score_file(src, target, chunk_rows=10, progress=False)


# -- spreadsheets as offices save them (#18) -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "first_text"),
    [
        ("pl_semicolon_cp1250.csv", "cp1250", "Gdzie jest moja paczka? Czekam już tydzień"),
        ("ru_semicolon_cp1251.csv", "cp1251", "Где мой заказ? Жду уже неделю"),
    ],
)
def test_semicolon_csv_in_a_windows_encoding_is_read_whole(
    repo_root: Path, name: str, encoding: str, first_text: str
) -> None:
    from custtype.batch.read import open_reader

    reader = open_reader(repo_root / "tests/data" / name)
    assert reader.columns == ["id", "customer_id", "text", "date"]
    assert reader.detected == {"encoding": f"{encoding} (detected)", "delimiter": "';' (detected)"}
    frame = next(reader.chunks(None, 100)).frame
    assert len(frame) == 5 and frame["text"].iloc[0].startswith(first_text)
    assert frame["_custtype_problem"].isna().all()


def test_a_windows_csv_scores_every_row_and_says_how_it_was_read(
    repo_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(
        app,
        [
            "score",
            str(repo_root / "tests/data/ru_semicolon_cp1251.csv"),
            "-o",
            str(out),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "read as encoding cp1251 (detected), delimiter ';' (detected)" in r.output
    # written back as that office's Excel opens it: ';' and a UTF-8 byte order mark
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid;customer_id;text;date;custtype_")
    scored = pd.read_csv(out, dtype=str, keep_default_na=False, sep=";")
    assert len(scored) == 5 and (scored["custtype_error"] == "").all()
    assert scored["text"].iloc[0].startswith("Где мой заказ?")
    assert list(scored.columns[:2]) == ["id", "customer_id"]  # the mark is not in the name


def test_a_comma_csv_stays_comma_and_a_tsv_input_gives_a_comma_csv(tmp_path: Path) -> None:
    src = tmp_path / "in.tsv"
    src.write_text("id\ttext\n1\tGdzie jest paczka?\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    score_file(src, out, progress=False)
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,text,custtype_")
    assert read_csv_rows(out)[0]["text"] == "Gdzie jest paczka?"


def test_delimiter_and_encoding_can_be_given(repo_root: Path) -> None:
    from custtype.batch.read import open_reader

    src = repo_root / "tests/data/pl_semicolon_cp1250.csv"
    reader = open_reader(src, delimiter=";", encoding="cp1250")
    assert reader.detected == {"encoding": "cp1250", "delimiter": "';'"}
    wrong = open_reader(src, delimiter=",", encoding="utf-8")  # as the user says: flagged rows
    frame = next(wrong.chunks(None, 100)).frame
    assert wrong.columns == ["id;customer_id;text;date"]
    assert frame["_custtype_problem"].str.contains("leave --encoding out to detect it").all()
    # a wrong single-byte code page decodes without an error: it is said instead
    cp1251 = open_reader(src, encoding="cp1251")
    assert cp1251.detected["encoding"] == "cp1251 (given; the file looks like cp1250)"
    with pytest.raises(InputError, match="Unknown encoding 'klingon'"):
        open_reader(src, encoding="klingon")


def test_an_xlsx_export_is_read_and_scored(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    summary = score_file(repo_root / "tests/data/helpdesk_export.xlsx", out, progress=False)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(rows) == 6 == summary.rows  # the empty row is not a record
    assert rows[0]["text"].startswith("Gdzie jest moja paczka?") and rows[0]["id"] == 1
    assert rows[0]["custtype_error"] is None
    # named by its row in Excel (row 7 is empty, so the sixth record is on row 8)
    assert rows[-1]["custtype_error"].startswith("row 8 (id 6): column 'text' is empty")
    with pytest.raises(InputError, match=r"write the scored table as \.csv"):
        score_file(repo_root / "tests/data/helpdesk_export.xlsx", tmp_path / "x.xlsx")


@pytest.mark.parametrize("given", [None, "utf-8"])
def test_a_dask_partition_names_a_bad_byte_as_the_local_reader_does(
    tmp_path: Path, given: str | None
) -> None:
    """Past the detection sample a bad byte: each partition reopens the file with the encoding
    the first reader used, but only a user's --encoding makes the message say so."""
    from custtype.batch.dask import _plan, read_part
    from custtype.batch.read import Position, open_reader

    src = tmp_path / "big.csv"
    body = "".join(f"{i},Где мой заказ номер {i}? Жду уже неделю\n" for i in range(6000))
    src.write_bytes(("id,text\n" + body).encode("utf-8") + b"6000,zam\xf3wienie\n")
    local = open_reader(src, encoding=given)
    want = [f.frame["_custtype_problem"].dropna().tolist() for f in local.chunks(None, 10_000)]
    specs, _ = _plan(open_reader(src, encoding=given), Position(), 2500)
    got = [p for spec in specs for p in read_part(spec)["_custtype_problem"].dropna().tolist()]
    assert got == [p for w in want for p in w] and len(got) == 1
    assert ("leave --encoding out" in got[0]) == (given is not None)


def test_a_short_file_gets_no_guess_at_its_given_encoding(tmp_path: Path) -> None:
    from custtype.batch.read import open_reader

    src = tmp_path / "two.csv"  # 6 non-ASCII bytes: charset-normalizer guesses cp1257
    text = "Gdzie moja przesyłka? Czekam już tydzień"
    src.write_bytes(f"id;text\n1;{text}\n2;{text[::-1]}\n".encode("cp1250"))
    assert open_reader(src, encoding="cp1250").detected["encoding"] == "cp1250"


@pytest.mark.parametrize(
    ("cell", "channel"),
    [
        ("phone", "phone"),
        (" Telefon ", "phone"),
        ("ТЕЛЕФОН", "phone"),
        ("Czat", "chat"),
        ("e-mail", "email"),
        ("Live  Chat", "chat"),
        ("отзыв", "review"),
        ("pigeon", None),
    ],
)
def test_a_channel_cell_is_read_by_key_or_by_what_exports_call_it(
    cell: str, channel: str | None
) -> None:
    from custtype.batch.score import _row_channel

    ctx, problem = _row_channel(cell, "kanal")
    assert (ctx.channel if ctx else None) == channel
    assert (problem is None) == (channel is not None)
    if problem:
        assert "column 'kanal' has 'pigeon'" in problem and "phone" in problem
