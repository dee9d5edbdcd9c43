"""How often each context rule's cue category fires on the shared corpus, per language.

Reads ../shared/corpus in place (never copied). With --sample N prints N random firing
messages per language and category (seed 1), to read and judge precision by hand.

    python scripts/rule_rates.py [--corpus ../shared/corpus] [--sample 30]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from custtype.text.cues import cue_categories, find_cues
from custtype.text.normalize import normalize

RULES = ("public_exposure", "legal_appeal", "repeat_contact")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path(__file__).parents[2] / "shared" / "corpus")
    ap.add_argument("--sample", type=int, default=0)
    args = ap.parse_args()
    print("| lang | messages | " + " | ".join(RULES) + " | any of the three |")
    print("|---|---|" + "---|" * (len(RULES) + 1))
    samples: dict[tuple[str, str], list[str]] = {}
    for lang in ("ru", "pl", "en"):
        with (args.corpus / f"real_{lang}.jsonl").open(encoding="utf-8") as fh:
            texts = [str(json.loads(line)["text"]) for line in fh]
        fired = [cue_categories(find_cues(normalize(t).text, lang)) & set(RULES) for t in texts]
        cells = [f"{sum(r in f for f in fired) / len(texts):.1%}" for r in RULES]
        cells.append(f"{sum(bool(f) for f in fired) / len(texts):.1%}")
        print(f"| {lang} | {len(texts):,} | " + " | ".join(cells) + " |")
        for rule in RULES:
            samples[(lang, rule)] = [t for t, f in zip(texts, fired, strict=True) if rule in f]
    for (lang, rule), found in samples.items() if args.sample else ():
        print(f"\n## {lang} {rule}: {len(found)} fire")
        for text in random.Random(1).sample(found, min(args.sample, len(found))):
            print("-", " ".join(text.split())[:400])


if __name__ == "__main__":
    main()
