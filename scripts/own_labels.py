"""How much a team's own labelled messages help: a cross-validated experiment on real_dev.

real_dev is split in two halves by id. For each half: a model is trained on
`training_data/train/` plus that half's labelled messages (the path `custtype train
--feedback` gives agents' labels), then its floors are set on the other half and measured
there, in-sample and as the two-fold estimate within that half. The shipped model, which
never saw real messages, is measured on the same half the same way. Both halves are then
added up. For the docs only: the models are written to a temporary folder and deleted;
nothing of real_dev reaches `models/` or `training_data/`.

    python scripts/own_labels.py [--real ../shared/real_dev.jsonl] [--corpus ../shared/corpus]

Takes two trainings (~7-10 min each on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from custtype import Classifier
from custtype.taxonomy import LANGS
from custtype.training.dataset import Located
from custtype.training.from_feedback import FeedbackData, labelled_row
from custtype.training.real import RealItem, load_real
from custtype.training.train import train, tune_on_real

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIGURES = ("typed_found", "ordinary_typed", "ordinary_typed_high")


def half(item: RealItem) -> int:
    """The experiment's split: SHA-256 of the id, independent of the two-fold estimate's
    crc32 (a crc32 of a prefixed id is not: crc32 is affine, so the two splits would agree
    or disagree by id length alone)."""
    return hashlib.sha256(f"own-labels:{item.id}".encode()).digest()[0] % 2


def as_training_rows(items: Sequence[RealItem], origin: Path) -> list[Located]:
    """Real labelled messages as the feedback path hands them to training."""
    return [
        labelled_row(f"own-{it.id}", it.lang, it.label, it.text, "own-labels", origin, n)
        for n, it in enumerate(items, start=1)
    ]


def counts(report: dict[str, Any], which: str) -> dict[str, dict[str, int]]:
    """Per language: messages behind each share (shares times their base, back to counts)."""
    out: dict[str, dict[str, int]] = {}
    for lang in [*LANGS, "all"]:
        f = report[which][lang]
        out[lang] = {
            "typed": f["typed"],
            "ordinary": f["ordinary"],
            "typed_found": round(f["typed_found"] * f["typed"]),
            "ordinary_typed": round(f["ordinary_typed"] * f["ordinary"]),
            "ordinary_typed_high": round(f["ordinary_typed_high"] * f["ordinary"]),
        }
    return out


def add(a: dict[str, dict[str, int]], b: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {lang: {k: a[lang][k] + b[lang][k] for k in a[lang]} for lang in a}


def row(name: str, c: dict[str, int]) -> str:
    found = f"{c['typed_found']}/{c['typed']} ({100 * c['typed_found'] / max(c['typed'], 1):.0f} %)"
    ordinary = 100 * c["ordinary_typed"] / max(c["ordinary"], 1)
    high = 100 * c["ordinary_typed_high"] / max(c["ordinary"], 1)
    return f"| {name} | {found} | {ordinary:.1f} % / {high:.1f} % of {c['ordinary']} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--real", type=Path, default=SHARED / "real_dev.jsonl")
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--data", type=Path, default=ROOT / "training_data")
    args = ap.parse_args()

    items = load_real(args.real, args.corpus)
    shipped = Classifier.load()
    totals: dict[str, dict[str, dict[str, int]]] = {}
    halves = [[it for it in items if half(it) == k] for k in (0, 1)]
    # the shipped model first: training switches the process's lemma tables
    base = [tune_on_real(shipped, shipped.policy, halves[1 - k], None)[1] for k in (0, 1)]
    with tempfile.TemporaryDirectory(prefix="custtype-own-labels-") as tmp:
        for k in (0, 1):
            learn, held = halves[k], halves[1 - k]
            held_file = Path(tmp) / f"held{k}.jsonl"
            held_file.write_text(
                "".join(
                    json.dumps({"id": it.id, "lang": it.lang, "label": it.label}) + "\n"
                    for it in held
                ),
                encoding="utf-8",
            )
            feedback = FeedbackData("own labels", as_training_rows(learn, args.real), [], 0)
            result = train(
                args.data,
                Path(tmp) / "models",
                version=f"own-labels-{k}",
                real=(held_file, args.corpus),
                feedback=feedback,
            )
            own = result.card["metrics_real"]
            for name, report in (("shipped", base[k]), ("own labels", own)):
                for which in ("figures", "two_fold_estimate"):
                    key = f"{name}|{which}"
                    got = counts(report, which)
                    totals[key] = add(totals[key], got) if key in totals else got
            print(f"half {k}: learned from {len(learn)}, measured on {len(held)}", flush=True)

    for which, title in (
        ("figures", "floors set on the measured half"),
        ("two_fold_estimate", "two-fold within the measured half"),
    ):
        print(f"\n{title}: typed found | ordinary typed (any / high)")
        for lang in [*LANGS, "all"]:
            print(f"\n{lang}\n| model | typed found | ordinary typed, any / high |\n|---|---|---|")
            for name in ("shipped", "own labels"):
                print(row(name, totals[f"{name}|{which}"][lang]))


if __name__ == "__main__":
    main()
