"""Command line: parse arguments, call the library, format. No logic lives here."""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from custtype.errors import CusttypeError
from custtype.taxonomy import RESPONSIBLE_USE
from custtype.validation import describe

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="custtype: customer type and service strategy for support messages (ru/pl/en). "
    + RESPONSIBLE_USE,
)
data_app = typer.Typer(no_args_is_help=True, help="Check the labelled training data.")
app.add_typer(data_app, name="data")
feedback_app = typer.Typer(
    no_args_is_help=True,
    help="Agents' verdicts on predictions, kept in the store (CUSTTYPE_STORE_URL).",
)
app.add_typer(feedback_app, name="feedback")
audit_app = typer.Typer(no_args_is_help=True, help="The append-only log of automated actions.")
app.add_typer(audit_app, name="audit")
store_app = typer.Typer(no_args_is_help=True, help="The feedback store itself.")
app.add_typer(store_app, name="store")
models_app = typer.Typer(no_args_is_help=True, help="Model versions side by side.")
app.add_typer(models_app, name="models")


class Format(StrEnum):
    text = "text"
    json = "json"


class LangOpt(StrEnum):
    ru = "ru"
    pl = "pl"
    en = "en"


ModelOpt = Annotated[
    Path | None, typer.Option("--model", help="Model directory (default: the shipped model).")
]
PlaybookOpt = Annotated[
    Path | None, typer.Option("--playbook", help="Your playbook override file (YAML).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
FeedbackOpt = Annotated[
    str | None,
    typer.Option(
        "--feedback", help="A store's URL (e.g. sqlite:///.custtype/custtype.db) to learn from."
    ),
]
AutomationOpt = Annotated[
    Path | None,
    typer.Option("--automation", help="Your automation policy file (YAML; else the shipped one)."),
]


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _emit(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _duration(minutes: int) -> str:
    """'15 min', '24 h', '1 h 30 min': a reply target as an agent reads it."""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _strategy_text(rec: dict[str, Any]) -> str:
    s = rec["strategy"]
    lines = [
        f"Strategy — {rec['type_name']} [{rec['lang']}] (priority {rec['priority']}, "
        f"answer within {_duration(rec['target_response_minutes'])}, "
        f"reply channel: {rec['reply_channel']})",
        f"  ⚠ {rec['notice']}",
        f"  Expects: {s['expects']}",
        "  Do:",
        *[f"    - {a}" for a in [*rec["added_actions"], *s["actions"]]],
        f"  Channel: {s['channel_advice']}",
        f"  Tone: {s['tone']}",
        f"  Boundaries: {s['boundaries']}",
        f"  Escalation: {s['escalation']}",
        "  Avoid:",
        *[f"    - {a}" for a in s["avoid"]],
        "  Openers:",
        *[f"    « {o} »" for o in s["openers"]],
    ]
    from custtype.strategy.playbook import Strategy

    for name, value in s.items():  # a team's own fields (e.g. voucher_limit): agents need them
        if name not in Strategy.model_fields:  # (the playbook's own are shown above)
            label = name.replace("_", " ").capitalize()
            if isinstance(value, list):
                lines += [f"  {label}:", *[f"    - {v}" for v in value]]
            else:
                lines.append(f"  {label}: {value}")
    if rec["escalate"]:
        lines.insert(2, "  ESCALATE: " + ", ".join(rec["escalation_reasons"]))
    return "\n".join(lines)


@app.command()
def classify(
    text: Annotated[str, typer.Argument(help="The message, or '-' to read it from stdin.")],
    lang: Annotated[
        LangOpt | None, typer.Option(help="Force the language (else detected).")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Channel: phone, chat, email, …")] = None,
    agent_lang: Annotated[
        LangOpt | None, typer.Option(help="Language of the strategy (default: the message's).")
    ] = None,
    fmt: FormatOpt = Format.text,
    model: ModelOpt = None,
    playbook: PlaybookOpt = None,
    automation: AutomationOpt = None,
) -> None:
    """Classify one message: type, confidence, evidence and the strategy for the agent."""
    from custtype.advice import Assistant
    from custtype.strategy.context import MessageContext

    if text == "-":
        text = sys.stdin.read()
    try:
        assistant = Assistant.load(model, playbook=playbook, automation=automation)
        ctx = MessageContext(channel=channel) if channel else None
        pred = assistant.advise(
            [text],
            lang=lang.value if lang else None,
            contexts=[ctx],
            agent_lang=agent_lang.value if agent_lang else None,
        )[0]
    except CusttypeError as exc:
        _fail(str(exc))
        return
    except ValidationError as exc:  # a bad channel
        _fail(describe(exc) + ".")
        return
    out = pred.to_dict()
    if fmt is Format.json:
        _emit(out)
        return
    from custtype.taxonomy import type_name

    name = type_name(
        pred.type if pred.outcome == "type" else ("none" if pred.outcome == "none" else None),
        out["strategy"]["lang"],
    )
    shown = math.floor(out["confidence"] * 100 + 1e-9) / 100  # 0.8988 is not "0.90 (medium)"
    bar = "█" * round(shown * 20)
    typer.echo(f"Type: {name} ({pred.type or pred.outcome})  [internal — not for the customer]")
    meaning = "; right this often at its level on real tickets" if pred.outcome == "type" else ""
    typer.echo(f"Confidence: {shown:.2f} {bar} ({pred.confidence_level}{meaning})")
    typer.echo(f"Language: {pred.language}   Model: {pred.model_version}")
    typer.echo(f"Automation allows: {pred.action.level} (tagging and routing only)")
    if pred.reason:
        typer.echo(f"Why undetermined: {pred.reason}")
    if pred.evidence:
        phrases = "; ".join(f"«{e.text}»" for e in pred.evidence)
        if pred.outcome == "undetermined":  # the phrases argue for the type that came closest
            closest = max(
                (k for k in pred.probabilities if k != "none"), key=pred.probabilities.__getitem__
            )
            toward = type_name(closest, out["strategy"]["lang"])
            typer.echo(f"Evidence (toward {toward} ({closest}), below its threshold): {phrases}")
        else:
            typer.echo(f"Evidence: {phrases}")
    typer.echo(_strategy_text(out["strategy"]))


@app.command()
def strategy(
    type_key: Annotated[str, typer.Argument(metavar="TYPE", help="Type key, or 'none'.")],
    lang: Annotated[LangOpt, typer.Option(help="Language of the strategy.")] = LangOpt.en,
    playbook: PlaybookOpt = None,
    fmt: FormatOpt = Format.text,
    channel: Annotated[str | None, typer.Option(help="Channel of the contact.")] = None,
    text: Annotated[str | None, typer.Option(help="The message, to detect context cues.")] = None,
    repeat_contacts: Annotated[int, typer.Option(help="Earlier contacts on the matter.")] = 0,
) -> None:
    """The service strategy for a type, with the context rules applied."""
    from custtype.strategy.context import MessageContext
    from custtype.strategy.rules import recommend

    try:
        ctx = MessageContext(channel=channel, text=text, repeat_contacts=repeat_contacts)
        rec = recommend(type_key, lang.value, ctx, playbook).model_dump()
    except CusttypeError as exc:
        _fail(str(exc))
        return
    except ValidationError as exc:
        _fail(describe(exc) + ".")
        return
    if fmt is Format.json:
        _emit(rec)
    else:
        typer.echo(_strategy_text(rec))


@app.command()
def types(
    lang: Annotated[LangOpt, typer.Option(help="Language of the names.")] = LangOpt.en,
    fmt: FormatOpt = Format.text,
) -> None:
    """List the seven customer types with their keys and names."""
    from custtype.taxonomy import TYPES, type_name

    rows = [{"key": t, "name": type_name(t, lang.value)} for t in TYPES]
    if fmt is Format.json:
        _emit(rows)
    else:
        for r in rows:
            typer.echo(f"{r['key']:<18} {r['name']}")


@data_app.command("check")
def data_check(
    root: Annotated[Path, typer.Option(help="The training data folder.")] = Path("training_data"),
    language: Annotated[bool, typer.Option(help="Check each text's language.")] = True,
) -> None:
    """Validate the labelled data: schema, labels, language, duplicates, overlap, counts."""
    from custtype.training.dataset import check_dataset

    report = check_dataset(root, check_language=language)
    langs = sorted({k[1] for k in report.counts})
    for split in ("train", "test"):
        typer.echo(f"{split}:")
        for lang in langs:
            by_label: dict[str, int] = {}
            by_channel: dict[str, int] = {}
            for (s, code, label, ch), n in report.counts.items():
                if s == split and code == lang:
                    by_label[label] = by_label.get(label, 0) + n
                    by_channel[ch] = by_channel.get(ch, 0) + n
            total = sum(by_label.values())
            typer.echo(f"  {lang}: {total} messages")
            typer.echo(
                "    labels:   " + ", ".join(f"{k} {v}" for k, v in sorted(by_label.items()))
            )
            typer.echo(
                "    channels: " + ", ".join(f"{k} {v}" for k, v in sorted(by_channel.items()))
            )
    for k, v in sorted(report.stats.items()):
        typer.echo(f"{k}: {v:.3f}")
    if report.problems:
        for p in report.problems[:200]:
            typer.echo(p, err=True)
        _fail(f"{len(report.problems)} problem(s) in {root}.", code=1)
    typer.echo("data check passed")


@data_app.command("import")
def data_import(
    src: Annotated[Path, typer.Argument(help="A JSON Lines file of labelled messages.")],
    split: Annotated[str, typer.Option(help="train or test.")] = "train",
    root: Annotated[Path, typer.Option(help="The training data folder.")] = Path("training_data"),
    name: Annotated[str | None, typer.Option(help="File name to write (default: SRC's).")] = None,
) -> None:
    """Add labelled messages to the data: validated, de-duplicated against what is there."""
    from custtype.training.dataset import import_file

    try:
        result = import_file(src, root, split, name)
    except (CusttypeError, OSError) as exc:
        _fail(str(exc))
        return
    for d in result.dropped:
        typer.echo(d, err=True)
    typer.echo(f"wrote {result.kept} messages to {result.written} ({len(result.dropped)} dropped)")


RealOpt = Annotated[
    Path | None,
    typer.Option(
        help="Real labelled messages: JSON Lines of {id, lang, label} (real_dev's format)."
    ),
]


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Training data folder.")] = Path("training_data"),
    out: Annotated[Path, typer.Option(help="Where model versions are written.")] = Path("models"),
    version: Annotated[str | None, typer.Option(help="Model version (default: date-hash).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    real: RealOpt = None,
    corpus: Annotated[
        Path | None, typer.Option(help="Folder with the texts of --real's messages.")
    ] = None,
    thresholds: Annotated[
        Path | None, typer.Option(help="Decision-policy file (default: the shipped one).")
    ] = None,
    feedback: FeedbackOpt = None,
) -> None:
    """Train a model on DATA/train, evaluate on DATA/test, write OUT/<version>/.

    With --real and --corpus, the decision floors of each language are set from those real
    labelled messages (never trained on) and the card reports figures on them. With
    --feedback, the messages agents labelled in that store (where text was kept) are added,
    except a fixed hold-out for `custtype models compare`.
    """
    import logging

    from custtype.training.from_feedback import load_feedback
    from custtype.training.train import train as run

    if (real is None) != (corpus is None):
        _fail("--real and --corpus go together: the labels file and the folder of its texts.")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)  # its "Loading dictionaries…"
    try:
        fb = load_feedback(feedback) if feedback else None
        if fb is not None:
            typer.echo(
                f"feedback from {fb.where}: {len(fb.train):,} messages to train on, "
                f"{len(fb.holdout):,} held out, {fb.skipped:,} in other languages skipped",
                err=True,
            )
        result = run(
            data,
            out,
            version=version,
            seed=seed,
            thresholds_file=thresholds,
            real=(real, corpus) if real is not None and corpus is not None else None,
            feedback=fb,
        )
    except CusttypeError as exc:
        _fail(str(exc))
        return
    m = result.card["metrics_test"]
    typer.echo(f"wrote {result.path}")
    typer.echo(
        f"test macro-F1 {m['macro_f1']:.3f}, ECE {m['ece']:.3f}, per language "
        + ", ".join(f"{k} {v:.3f}" for k, v in m["macro_f1_per_language"].items())
    )
    report = result.card.get("metrics_real")
    if report:
        _echo_tuned(report)


@app.command()
def tune(
    real: Annotated[
        Path, typer.Option(help="Real labelled messages: JSON Lines of {id, lang, label}.")
    ],
    corpus: Annotated[Path, typer.Option(help="Folder with the texts of --real's messages.")],
    model: ModelOpt = None,
    data: Annotated[Path, typer.Option(help="Training data folder (uses DATA/test).")] = Path(
        "training_data"
    ),
    thresholds: Annotated[
        Path | None,
        typer.Option(help="Decision-policy file whose targets to meet (default: the model's)."),
    ] = None,
) -> None:
    """Set a model's decision floors per language from real labelled messages, without
    retraining (e.g. a team's own labelled tickets); rewrites the model's card."""
    import logging

    from custtype.model.artifact import default_model_dir
    from custtype.training.train import tune as run

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)
    try:
        result = run(model or default_model_dir(), data, (real, corpus), thresholds)
    except CusttypeError as exc:
        _fail(str(exc))
        return
    typer.echo(f"tuned {result.path}: floors {result.card['policy']['type_floor']}")
    m = result.card["metrics_test"]
    typer.echo(f"test macro-F1 {m['macro_f1']:.3f} with the new floors")
    _echo_tuned(result.card["metrics_real"])


def _echo_tuned(report: dict[str, Any]) -> None:
    """Figures on the real messages the floors were tuned on, the two-fold estimate, and
    how often a named type was right (what a named type's confidence now says)."""
    _echo_real(report["figures"], f"real ({report['source']}), floors tuned on it")
    _echo_real(report["two_fold_estimate"], "real, two-fold estimate (floors from the other half)")
    precision = report.get("precision")
    if not precision:
        return
    typer.echo("named types right, two-fold (a named type's confidence):")
    for lang, levels in precision["counts"].items():
        for level, c in levels.items():
            per_type = precision["type_shares"][lang][level]
            types = ", ".join(
                f"{t} {n['right']}/{n['named']} -> {per_type[t]:.2f}" for t, n in c["types"].items()
            )
            share = precision["shares"][lang][level]
            typer.echo(f"  {lang} {level}: {c['right']}/{c['named']} -> {share:.2f} ({types})")


def _echo_real(figures: dict[str, Any], title: str) -> None:
    """Per language: ordinary messages typed (any / high), typed messages found."""
    typer.echo(title)
    for lang, f in figures.items():
        per_type = ", ".join(f"{t} {v['found']}/{v['n']}" for t, v in f["per_type"].items())
        high = f["ordinary_typed_high"]
        typer.echo(
            f"  {lang}: ordinary typed {f['ordinary_typed']:.1%} (high {high:.1%}) of "
            f"{f['ordinary']}; typed found {f['typed_found']:.1%} (any type "
            f"{f['typed_any_type']:.1%}) of {f['typed']}" + (f" [{per_type}]" if per_type else "")
        )


@app.command()
def evaluate(
    model: ModelOpt = None,
    data: Annotated[Path, typer.Option(help="Training data folder (uses DATA/test).")] = Path(
        "training_data"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the PNG plots.")] = Path("reports"),
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="Folder of unlabelled real messages (*.jsonl with 'text'): "
            "report the share given a type."
        ),
    ] = None,
    real: RealOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Score DATA/test with a model: figures, confusion matrix and reliability PNGs.

    With --real FILE (labels in real_dev's format, texts from --corpus): figures on real
    labelled messages and OUT/real_curve.png, typed messages found against ordinary ones
    typed as the threshold moves.
    """
    from custtype.training.evaluation import evaluate_model

    try:
        result = evaluate_model(model, data, out, corpus, real)
    except CusttypeError as exc:
        _fail(str(exc))
        return
    if fmt is Format.json:
        _emit(result)
        return
    m = result["metrics"]
    typer.echo(f"model {result['model_version']} on {m['n']} test messages")
    typer.echo(f"macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}  ECE {m['ece']:.3f}")
    for lang, f1 in m["macro_f1_per_language"].items():
        typer.echo(f"  {lang}: macro-F1 {f1:.3f}")
    typer.echo(f"{'label':<18}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}")
    for lab, v in m["per_class"].items():
        typer.echo(
            f"{lab:<18}{v['precision']:>7.3f}{v['recall']:>7.3f}{v['f1']:>7.3f}{v['support']:>6}"
        )
    typer.echo(
        "coverage vs accuracy: "
        + ", ".join(
            f"≥{r['threshold']:.1f}: {r['coverage']:.0%}/{r['accuracy']:.0%}"
            for r in m["coverage_vs_accuracy"]
        )
    )
    typer.echo(f"wrote {result['confusion_png']} and {result['reliability_png']}")
    if "real" in result:
        _echo_real(
            result["real"]["figures"], f"real labelled messages ({result['real']['source']})"
        )
        typer.echo(f"wrote {result['real']['curve_png']}")
    for lang, r in result.get("real_traffic", {}).get("languages", {}).items():
        typer.echo(
            f"real traffic {lang}: {r['messages']} messages, typed {r['typed_share']:.1%}, "
            f"high confidence {r['high_share']:.1%}, undetermined {r['undetermined_share']:.1%}"
        )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Worker processes (default: one per core; they share the loaded model)."
        ),
    ] = None,
    model: ModelOpt = None,
    playbook: PlaybookOpt = None,
    automation: AutomationOpt = None,
) -> None:
    """Run the HTTP API and the agent page (settings also from CUSTTYPE_* variables)."""
    from custtype.api import serve as run
    from custtype.api.server import default_workers

    count = workers if workers is not None else default_workers()
    why = "as asked" if workers is not None else "one per core; change with --workers"
    typer.echo(f"custtype serve: {count} worker process(es) ({why}) on http://{host}:{port}")
    try:
        run(
            host=host,
            port=port,
            workers=count,
            model=model,
            playbook=playbook,
            automation=automation,
        )
    except CusttypeError as exc:
        _fail(str(exc))


# -- batch: score, profile, report --------------------------------------------------------
class EngineOpt(StrEnum):
    local = "local"
    dask = "dask"


class StrategyFormatOpt(StrEnum):
    summary = "summary"
    json = "json"


DelimiterOpt = Annotated[
    str | None,
    typer.Option(help="CSV delimiter, e.g. ';' (default: detected from the file)."),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(help="CSV/TSV encoding, e.g. cp1251 (default: detected from the file)."),
]
ProgressOpt = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bar (default: only on a terminal)."),
]
JobsOpt = Annotated[
    int, typer.Option("--jobs", "-j", min=1, help="Processes (each loads the model once).")
]
TextColumnOpt = Annotated[str, typer.Option(help="Column with the message text.")]
LangColumnOpt = Annotated[
    str | None, typer.Option(help="Column with ru/pl/en per row (empty: detect).")
]
ChannelColumnOpt = Annotated[
    str | None, typer.Option(help="Column with the channel (phone, chat, email, …).")
]


@app.command()
def score(
    source: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="CSV, TSV, JSONL, Parquet or Excel .xlsx file; '-' is JSON Lines on stdin.",
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Output file (format from its extension); '-' is JSONL on stdout.",
        ),
    ],
    text_column: TextColumnOpt = "text",
    id_column: Annotated[
        str | None,
        typer.Option(
            help="Column naming rows in error messages (default: 'id' when there is one)."
        ),
    ] = None,
    lang_column: LangColumnOpt = None,
    channel_column: ChannelColumnOpt = None,
    lang: Annotated[LangOpt | None, typer.Option(help="Force one language for all rows.")] = None,
    agent_lang: Annotated[
        LangOpt | None, typer.Option(help="Language of the strategy (default: the message's).")
    ] = None,
    evidence: Annotated[
        bool,
        typer.Option(
            "--evidence/--no-evidence", help="Evidence phrases (off saves ~15% of scoring time)."
        ),
    ] = True,
    strategy_format: Annotated[
        StrategyFormatOpt,
        typer.Option(help="custtype_strategy as a one-line summary or the full JSON."),
    ] = (StrategyFormatOpt.summary),
    jobs: JobsOpt = 1,
    engine: Annotated[EngineOpt, typer.Option(help="local processes or a Dask cluster.")] = (
        EngineOpt.local
    ),
    scheduler: Annotated[
        str | None, typer.Option(help="Address of an existing Dask scheduler (with --engine dask).")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows per chunk (local engine).")] = 1000,
    partition_rows: Annotated[
        int, typer.Option(min=1, help="Rows per partition (Dask engine).")
    ] = 10_000,
    resume: Annotated[
        bool, typer.Option(help="Continue an interrupted run into the same OUTPUT.")
    ] = False,
    progress: ProgressOpt = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    model: ModelOpt = None,
    playbook: PlaybookOpt = None,
) -> None:
    """Score every row of a file (CSV, TSV, JSON Lines, Parquet, Excel .xlsx): all input
    columns kept, custtype_* columns added."""
    from custtype.batch import ScoreOptions, score_file

    try:
        opts = ScoreOptions(
            text_column=text_column,
            id_column=id_column,
            lang_column=lang_column,
            channel_column=channel_column,
            lang=lang.value if lang else None,
            agent_lang=agent_lang.value if agent_lang else None,
            evidence=evidence,
            strategy="json" if strategy_format is StrategyFormatOpt.json else "summary",
        )
        summary = score_file(
            source,
            output,
            opts,
            jobs=jobs,
            engine=engine.value,
            scheduler=scheduler,
            chunk_rows=chunk_rows,
            partition_rows=partition_rows,
            resume=resume,
            progress=progress,
            delimiter=delimiter,
            encoding=encoding,
            model=str(model) if model else None,
            playbook=str(playbook) if playbook else None,
        )
    except KeyboardInterrupt:
        _fail("interrupted. Run the same command with --resume to continue.", code=130)
        return
    except BrokenPipeError:  # `custtype score - -o - | head`: the reader left; stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(141) from None
    except (CusttypeError, OSError) as exc:
        _fail(str(exc))
        return
    for line in summary.lines():
        typer.echo(line, err=True)


@app.command()
def profile(
    source: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="Messages (scored or not): CSV, TSV, JSONL, Parquet or Excel .xlsx.",
        ),
    ],
    customer_column: Annotated[str, typer.Option(help="Column identifying the customer.")],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Profiles file: .csv, .tsv, .jsonl or .parquet.")
    ],
    time_column: Annotated[
        str | None, typer.Option(help="Column with the message time (recent messages weigh more).")
    ] = None,
    half_life_days: Annotated[
        float, typer.Option(help="A message this many days older than the latest weighs half.")
    ] = 90.0,
    min_support: Annotated[int, typer.Option(help="Messages needed to support a type.")] = 2,
    min_share: Annotated[
        float, typer.Option(help="Share of the customer's weight the type needs.")
    ] = 0.3,
    channel_column: ChannelColumnOpt = None,
    agent_lang: Annotated[
        LangOpt | None, typer.Option(help="Language of the strategy (default: the customer's).")
    ] = None,
    text_column: TextColumnOpt = "text",
    lang_column: LangColumnOpt = None,
    jobs: JobsOpt = 1,
    progress: ProgressOpt = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    model: ModelOpt = None,
    playbook: PlaybookOpt = None,
) -> None:
    """Per customer: type distribution, dominant type, support, stability and strategy."""
    from collections import Counter

    from custtype.analytics.profiles import ProfileOptions, profile_file
    from custtype.batch.score import ScoreOptions

    try:
        popts = ProfileOptions(
            customer_column=customer_column,
            time_column=time_column,
            channel_column=channel_column,
            half_life_days=half_life_days,
            min_support=min_support,
            min_share=min_share,
            agent_lang=agent_lang.value if agent_lang else None,
        )
        sopts = ScoreOptions(text_column=text_column, lang_column=lang_column, evidence=False)
        table = profile_file(
            source,
            output,
            popts,
            sopts,
            jobs=jobs,
            progress=progress,
            delimiter=delimiter,
            encoding=encoding,
            model=str(model) if model else None,
            playbook=str(playbook) if playbook else None,
        )
    except (CusttypeError, OSError) as exc:
        _fail(str(exc))
        return
    counts = Counter(table["profile_outcome"].tolist()) if len(table) else Counter()
    typer.echo(
        f"wrote {len(table):,} customer profiles to {output}: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())),
        err=True,
    )
    if table.attrs.get("rows_without_customer"):
        n = table.attrs["rows_without_customer"]
        typer.echo(f"{n:,} row(s) without a {customer_column!r} value: left out", err=True)
    if table.attrs.get("unreadable_times"):
        n = table.attrs["unreadable_times"]
        typer.echo(
            f"{n:,} row(s) with a {time_column!r} value that is not a date or time: weighed "
            "like the customer's oldest dated message",
            err=True,
        )
    typer.echo(RESPONSIBLE_USE, err=True)


@app.command()
def report(
    source: Annotated[
        str, typer.Argument(metavar="SCORED", help="A file written by `custtype score`.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = (
        Path("report.html")
    ),
    channel_column: Annotated[
        str | None, typer.Option(help="Channel column (default: 'channel' when present).")
    ] = None,
    date_column: Annotated[
        str | None,
        typer.Option(
            help="Date column for the by-month view (default: date, created_at, … when present)."
        ),
    ] = None,
    title: Annotated[str, typer.Option(help="Title of the page.")] = "Customer-type report",
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
) -> None:
    """A self-contained HTML report: distributions, confidence, evidence terms, errors."""
    from custtype.analytics.report import build_report

    try:
        data = build_report(
            source,
            output,
            channel_column,
            date_column,
            title,
            delimiter=delimiter,
            encoding=encoding,
        )
    except (CusttypeError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(f"wrote {output} ({data.rows:,} messages)", err=True)


def _store() -> Any:
    from custtype.store.records import Store

    return Store.open()


@feedback_app.command("import")
def feedback_import(
    source: Annotated[
        Path, typer.Argument(metavar="FILE", help="A helpdesk export (.csv/.jsonl).")
    ],
    model_version: Annotated[
        str | None,
        typer.Option(help="Model that made the predictions (default: the file's, else ours)."),
    ] = None,
) -> None:
    """Store agents' verdicts from a helpdesk export: ticket_id, text or text_hash,
    predicted, corrected (empty = confirmed, 'unsure'), agent_id, time. Bad rows are listed
    by line and field; the others are stored."""
    from custtype.helpdesk.feedback import import_feedback
    from custtype.model.artifact import default_model_dir, read_card
    from custtype.strategy.automation import load_automation

    try:
        version = model_version or str(read_card(default_model_dir())["version"])
        store = _store()
        result = import_feedback(store, source, version, load_automation().label)
    except (CusttypeError, OSError) as exc:
        _fail(str(exc))
        return
    for problem in result.problems[:20]:
        typer.echo(f"refused: {problem}", err=True)
    if len(result.problems) > 20:
        typer.echo(f"… and {len(result.problems) - 20} more refused rows", err=True)
    typer.echo(
        f"stored {result.stored:,} verdicts in {store.where}; refused {len(result.problems):,}",
        err=True,
    )
    if result.problems:
        raise typer.Exit(1)


@feedback_app.command("summary")
def feedback_summary() -> None:
    """Per predicted label: shown, confirmed, corrected (to what), unsure (JSON)."""
    from custtype.helpdesk.feedback import summarise

    try:
        rows = _store().latest_verdicts()
    except CusttypeError as exc:
        _fail(str(exc))
        return
    _emit([s.to_dict() for s in summarise(rows)])


@feedback_app.command("report")
def feedback_report(
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = (
        Path("feedback.html")
    ),
) -> None:
    """The quality dashboard: agents' verdicts per type and language, confidence against
    agents, the type mix by week."""
    from datetime import UTC, datetime

    from custtype.helpdesk.quality import write_report

    try:
        q = write_report(_store(), output, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    except (CusttypeError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(f"wrote {output} ({q.predictions:,} predictions, {q.answered:,} answered)", err=True)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="The JSONL file to write.")] = (
        Path("audit.jsonl")
    ),
) -> None:
    """Every automated action and agent verdict, in order, one JSON object a line."""
    from custtype.files import atomic_output

    n = 0
    try:
        store = _store()
        with atomic_output(output) as tmp, tmp.open("w", encoding="utf-8") as fh:
            for row in store.audit_log():
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    except (CusttypeError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(f"wrote {n:,} audit entries to {output}", err=True)


@store_app.command("purge")
def store_purge() -> None:
    """Clear kept message texts older than CUSTTYPE_STORE_RETENTION_DAYS (audited)."""
    try:
        n = _store().purge()
    except CusttypeError as exc:
        _fail(str(exc))
        return
    typer.echo(f"cleared {n:,} texts past their retention", err=True)


@models_app.command("compare")
def models_compare(
    old: Annotated[Path, typer.Argument(help="The model in use (a model directory).")],
    new: Annotated[Path, typer.Argument(help="The candidate (a model directory).")],
    data: Annotated[Path, typer.Option(help="Training data folder (its test split).")] = Path(
        "training_data"
    ),
    real: RealOpt = None,
    corpus: Annotated[
        Path | None, typer.Option(help="Folder with the texts of --real's messages.")
    ] = None,
    feedback: FeedbackOpt = None,
) -> None:
    """Both models on the test split, on real labelled messages (--real/--corpus) and on the
    feedback hold-out (--feedback); exit 0 when NEW is promotable (no figure worse beyond
    its tolerance), 1 when it regresses."""
    from custtype.training.compare import compare
    from custtype.training.from_feedback import load_feedback
    from custtype.training.real import load_real

    if (real is None) != (corpus is None):
        _fail("--real and --corpus go together: the labels file and the folder of its texts.")
    try:
        items = load_real(real, corpus) if real is not None and corpus is not None else []
        holdout = load_feedback(feedback).holdout if feedback else []
        result = compare(old, new, data, items, holdout)
    except CusttypeError as exc:
        _fail(str(exc))
        return
    a, b = result.old, result.new
    typer.echo(f"{'':34}{a['version']:>22}{b['version']:>22}")
    for key, value in a["test"].items():
        typer.echo(f"{'test macro-F1 ' + key:34}{value:>22.3f}{b['test'][key]:>22.3f}")
    for lang, f in a.get("real", {}).items():
        g = b["real"][lang]
        typer.echo(
            f"{'real ' + lang + ' typed found':34}{f['typed_found']:>22.1%}"
            f"{g['typed_found']:>22.1%}"
        )
        typer.echo(
            f"{'real ' + lang + ' ordinary typed':34}{f['ordinary_typed']:>22.1%}"
            f"{g['ordinary_typed']:>22.1%}"
        )
    if "feedback" in a:
        n = a["feedback"]["n"]
        typer.echo(
            f"{f'feedback hold-out accuracy (n={n})':34}"
            f"{a['feedback']['accuracy']:>22.1%}{b['feedback']['accuracy']:>22.1%}"
        )
    if result.promotable:
        typer.echo(f"promotable: yes ({b['version']} regresses on no figure)")
        return
    typer.echo("promotable: no; regressions: " + "; ".join(result.regressions))
    raise typer.Exit(1)


def main() -> None:
    """Entry point of the `custtype` command."""
    app()


if __name__ == "__main__":
    main()
