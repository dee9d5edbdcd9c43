"""Data checks: schema, labels, language, duplicates, overlap, counts, import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custtype.training.dataset import (
    check_dataset,
    data_hash,
    import_file,
    near_duplicate_pairs,
    opening_variety,
)


def _row(i: str, text: str, lang: str = "en", label: str = "none", **kw: str) -> dict:
    return {
        "id": i,
        "lang": lang,
        "label": label,
        "text": text,
        "channel": kw.get("channel", "email"),
        "industry": "shop",
        "source": kw.get("source", "t"),
    }


def _write(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    )
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _write(
        tmp_path / "train" / "a.jsonl",
        [
            _row(
                "a1", "Where is my parcel? It was due on Monday and the tracking page says nothing."
            ),
            "{not json\n",
            _row("a3", "Could you resend the invoice for March please?", label="nonsense"),
            _row("a4", "Gdzie jest moja paczka, czekam od poniedziałku", lang="en"),
            _row(
                "a5", "Where is my parcel? It was due on Monday and the tracking page says nothing!"
            ),
            _row("a6", "Thanks, the refund arrived today.", channel="pigeon"),
        ],
    )
    _write(
        tmp_path / "test" / "b.jsonl",
        [
            _row(
                "b1",
                "Where is my parcel? It was due on Monday and the tracking page says nothing...",
            ),
            _row("a1", "A completely different message about a broken kettle and its warranty."),
        ],
    )
    return tmp_path


def test_problems_name_file_line_and_field(root: Path) -> None:
    report = check_dataset(root)
    text = "\n".join(report.problems)
    a = root / "train" / "a.jsonl"
    assert f"{a}:2: invalid JSON" in text
    assert f"{a}:3: field label" in text
    assert f"{a}:4: field lang: says 'en' but the text reads as 'pl'" in text
    assert f"{a}:5: near-duplicate of {a}:1" in text
    assert f"{a}:6: field channel" in text
    assert "overlaps training message" in text
    assert "duplicate id 'a1'" in text
    assert "need ≥ 150" in text and "need ≥ 30" in text
    assert not report.ok


def test_near_duplicates_and_openings() -> None:
    a = [
        "The parcel never came and nobody answers the phone at all.",
        "The parcel never came and nobody answers the phone at all!!",
        "Totally different: my card was charged twice for one coffee.",
    ]
    assert [(i, j) for i, j, _ in near_duplicate_pairs(a)] == [(0, 1)]
    assert opening_variety(["a b c d", "a b c e", "x y z"]) == pytest.approx(2 / 3)


def test_import_drops_duplicates_and_hash_changes(tmp_path: Path) -> None:
    root = tmp_path / "td"
    _write(
        root / "train" / "old.jsonl",
        [_row("o1", "My order arrived broken and I would like a replacement, please.")],
    )
    before = data_hash(root)
    src = _write(
        tmp_path / "new.jsonl",
        [
            _row("n1", "My order arrived broken and I would like a replacement please!"),
            _row("n2", "Can I pay for the subscription yearly instead of monthly?"),
            _row("o1", "A message that reuses an existing id but is otherwise new and fine."),
        ],
    )
    result = import_file(src, root, "train")
    assert result.kept == 1 and len(result.dropped) == 2
    assert any(":1: near-duplicate" in d for d in result.dropped)
    assert any("already exists" in d for d in result.dropped)
    assert data_hash(root) != before


def test_import_refuses_invalid_file_and_writes_nothing(tmp_path: Path) -> None:
    src = _write(tmp_path / "bad.jsonl", [_row("x", "fine text here"), "{broken\n"])
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: invalid JSON"):
        import_file(src, tmp_path / "td", "train")
    assert not (tmp_path / "td" / "train" / "bad.jsonl").exists()
