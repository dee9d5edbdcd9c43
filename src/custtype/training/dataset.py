"""Labelled training data: load, hash and check the JSON Lines files under training_data/.

Layout: `training_data/train/*.jsonl` and `training_data/test/*.jsonl` (the independently
written test set). One message a line:
`{"id", "lang", "label", "text", "channel", "industry", "source"}`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from custtype.errors import DataError
from custtype.files import atomic_output, json_lines
from custtype.taxonomy import CHANNELS, LABELS, Lang
from custtype.text.language import detect_language

NEAR_DUP_JACCARD = 0.6
SHINGLE = 5
MIN_OPENING_VARIETY = 0.6
MIN_TRAIN_PER_TYPE = 150
MIN_TRAIN_NONE = 400
MIN_TEST_PER_LABEL = 30


class Message(BaseModel):
    """One labelled message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    lang: Lang
    label: str
    text: str = Field(min_length=1)
    channel: str
    industry: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @field_validator("label", "channel")
    @classmethod
    def _known(cls, v: str, info: ValidationInfo) -> str:
        allowed = LABELS if info.field_name == "label" else CHANNELS
        if v not in allowed:
            raise ValueError(
                f"unknown {info.field_name} {v!r}; expected one of {', '.join(allowed)}"
            )
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is blank")
        return v


@dataclass(frozen=True)
class Located:
    """A message with the file and line it came from."""

    message: Message
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Report:
    """Problems found and the counts printed by `custtype data check`."""

    problems: list[str] = field(default_factory=list)
    counts: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_jsonl(path: Path, problems: list[str] | None = None) -> list[Located]:
    """Read one file; every bad line becomes a problem naming file:line and the field."""
    out: list[Located] = []
    found = problems if problems is not None else []
    for n, raw, problem in json_lines(path):
        if problem:
            found.append(f"{path}:{n}: {problem}")
            continue
        try:
            out.append(Located(Message.model_validate(raw), path, n))
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(p) for p in e["loc"]) or "(line)"
                found.append(f"{path}:{n}: field {loc}: {e['msg']}")
    if problems is None and found:
        raise DataError("; ".join(found[:5]))
    return out


def split_files(root: Path, split: str) -> list[Path]:
    folder = root / split
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def load_split(root: Path, split: str) -> list[Located]:
    """All messages of `train` or `test`; raises DataError if any line is invalid."""
    files = split_files(root, split)
    if not files:
        raise DataError(f"No {split} data: expected JSON Lines files in {root / split}.")
    return [m for f in files for m in read_jsonl(f)]


def data_hash(root: Path) -> str:
    """sha256 over every train/test file's name and bytes (the model card records it)."""
    h = hashlib.sha256()
    for split in ("train", "test"):
        for f in split_files(root, split):
            h.update(f"{split}/{f.name}\n".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _shingle_matrix(texts: list[str]) -> tuple[Any, np.ndarray]:
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(
        analyzer="char",
        ngram_range=(SHINGLE, SHINGLE),
        binary=True,
        lowercase=True,
        dtype=np.float32,
    )
    x = vec.fit_transform([" ".join(t.split()) for t in texts])
    sizes = np.asarray(x.sum(axis=1)).ravel()
    return x, sizes


def near_duplicate_pairs(
    a: list[str], b: list[str] | None = None, threshold: float = NEAR_DUP_JACCARD
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) of 5-char-shingle Jaccard ≥ threshold; within `a` if b is None."""
    texts = a if b is None else a + b
    if len(texts) < 2:
        return []
    x, sizes = _shingle_matrix(texts)
    xa = x[: len(a)]
    xb = x if b is None else x[len(a) :]
    offset = 0 if b is None else len(a)
    inter = (xa @ xb.T).tocoo()
    out = []
    for i, j, v in zip(inter.row, inter.col, inter.data, strict=True):
        if b is None and j <= i:
            continue
        union = sizes[i] + sizes[j + offset] - v
        jac = float(v / union) if union else 0.0
        if jac >= threshold:
            out.append((int(i), int(j), jac))
    return out


def opening_variety(texts: Iterable[str]) -> float:
    """Distinct first-three-word openings per message (1.0: every opening differs)."""
    items = list(texts)
    if not items:
        return 1.0
    openings = {" ".join(t.lower().split()[:3]) for t in items}
    return len(openings) / len(items)


def check_dataset(root: Path, check_language: bool = True) -> Report:
    """Validate training_data/: schema, labels, language, duplicates, overlap, counts."""
    report = Report()
    splits: dict[str, list[Located]] = {}
    for split in ("train", "test"):
        files = split_files(root, split)
        if not files:
            report.problems.append(f"{root / split}: no JSON Lines files")
        splits[split] = [m for f in files for m in read_jsonl(f, report.problems)]
    ids: dict[str, str] = {}
    for split, rows in splits.items():
        for r in rows:
            m = r.message
            report.counts[(split, m.lang, m.label, m.channel)] += 1
            if m.id in ids:
                report.problems.append(f"{r.where}: duplicate id {m.id!r} (first at {ids[m.id]})")
            else:
                ids[m.id] = r.where
            if check_language:
                found = detect_language(m.text)
                if found != m.lang:
                    report.problems.append(
                        f"{r.where}: field lang: says {m.lang!r} but the text reads as {found!r}"
                    )
    for lang in ("ru", "pl", "en"):
        tr = [r for r in splits["train"] if r.message.lang == lang]
        te = [r for r in splits["test"] if r.message.lang == lang]
        for split_rows in (tr, te):
            pairs = near_duplicate_pairs([r.message.text for r in split_rows])
            for i, j, jac in pairs:
                report.problems.append(
                    f"{split_rows[j].where}: near-duplicate of {split_rows[i].where} "
                    f"(5-char shingle Jaccard {jac:.2f})"
                )
        for i, j, jac in near_duplicate_pairs(
            [r.message.text for r in te], [r.message.text for r in tr]
        ):
            report.problems.append(
                f"{te[i].where}: test message overlaps training message {tr[j].where} "
                f"(Jaccard {jac:.2f})"
            )
        variety = opening_variety(r.message.text for r in tr + te)
        report.stats[f"opening_variety_{lang}"] = variety
        if tr and variety < MIN_OPENING_VARIETY:
            report.problems.append(
                f"{lang}: opening variety {variety:.2f} is below {MIN_OPENING_VARIETY}"
            )
        _check_counts(report, lang, tr, te)
    return report


def _check_counts(report: Report, lang: str, tr: list[Located], te: list[Located]) -> None:
    train_counts = Counter(r.message.label for r in tr)
    test_counts = Counter(r.message.label for r in te)
    for label in LABELS:
        need = MIN_TRAIN_NONE if label == "none" else MIN_TRAIN_PER_TYPE
        if train_counts[label] < need:
            report.problems.append(
                f"train/{lang}: {train_counts[label]} messages labelled {label!r}, need ≥ {need}"
            )
        if test_counts[label] < MIN_TEST_PER_LABEL:
            report.problems.append(
                f"test/{lang}: {test_counts[label]} messages labelled {label!r}, "
                f"need ≥ {MIN_TEST_PER_LABEL}"
            )


@dataclass
class ImportResult:
    """What `import_file` kept and dropped."""

    written: Path
    kept: int
    dropped: list[str] = field(default_factory=list)


def import_file(src: Path, root: Path, split: str, name: str | None = None) -> ImportResult:
    """Validate `src` and write it to ROOT/SPLIT/NAME, dropping duplicates of what is there.

    A message is dropped when it near-duplicates (5-char shingle Jaccard ≥ 0.6) a message of
    the same language already in either split or earlier in the file, or reuses an id. Every
    drop is reported with its line number. Invalid lines stop the import (nothing written).
    """
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    problems: list[str] = []
    incoming = read_jsonl(src, problems)
    if problems:
        raise DataError(
            f"{len(problems)} invalid line(s), nothing imported: " + "; ".join(problems[:5])
        )
    existing = [m for s in ("train", "test") for f in split_files(root, s) for m in read_jsonl(f)]
    known_ids = {r.message.id for r in existing}
    dropped: list[str] = []
    kept: list[Located] = []
    for lang in sorted({r.message.lang for r in incoming}):
        new = [r for r in incoming if r.message.lang == lang]
        old_texts = [r.message.text for r in existing if r.message.lang == lang]
        bad = {i for i, _, _ in near_duplicate_pairs([r.message.text for r in new], old_texts)}
        for i, j, _ in near_duplicate_pairs([r.message.text for r in new]):
            if i not in bad:
                bad.add(j)
        for i, r in enumerate(new):
            if i in bad:
                dropped.append(f"{r.where}: near-duplicate, dropped")
            elif r.message.id in known_ids:
                dropped.append(f"{r.where}: id {r.message.id!r} already exists, dropped")
            else:
                known_ids.add(r.message.id)
                kept.append(r)
    kept.sort(key=lambda r: r.line)
    target = root / split / (name or src.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for r in kept:
            fh.write(json.dumps(r.message.model_dump(), ensure_ascii=False) + "\n")
    return ImportResult(target, len(kept), dropped)
