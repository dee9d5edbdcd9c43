"""Model directories: the shipped model matches the shipped data; a model file cannot run
code; a changed, cut, mixed-up or odd model directory is refused with a clear error."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from custtype import Classifier, ModelError
from custtype.model import artifact
from custtype.model.artifact import (
    CARD_FILE,
    VOCAB_FILE,
    WEIGHTS_FILE,
    default_model_dir,
    read_card,
)
from custtype.model.linear import single_precision
from custtype.training.dataset import data_hash


def test_shipped_model_is_not_stale(repo_root: Path) -> None:
    card = read_card(default_model_dir())
    assert card["training_data_sha256"] == data_hash(repo_root / "training_data"), (
        "training_data/ changed since the shipped model was trained: run `custtype train`"
    )


def test_card_reports_test_metrics_and_versions() -> None:
    card = read_card(default_model_dir())
    m = card["metrics_test"]
    assert set(m["macro_f1_per_language"]) == {"ru", "pl", "en"}
    assert {"precision", "recall", "f1"} <= set(m["per_class"]["tester"])
    assert 0 <= m["ece"] <= 1
    assert m["coverage_vs_accuracy"][0]["coverage"] == 1.0
    assert {"scikit-learn", "numpy", "scipy"} <= set(card["library_versions"])
    assert card["policy"]["version"] >= 2 and set(card["policy"]["type_floor"]) == {
        "ru",
        "pl",
        "en",
    }
    assert "never" in card["intended_use"]


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "m"
    shutil.copytree(default_model_dir(), dst)
    return dst


def _card(folder: Path) -> dict:
    return json.loads((folder / CARD_FILE).read_text("utf-8"))


def _write_card(folder: Path, card: object) -> None:
    (folder / CARD_FILE).write_text(json.dumps(card), "utf-8")


def test_save_then_load_round_trip(
    model_copy: Path, tmp_path: Path, classifier: Classifier
) -> None:
    loaded = artifact.load(model_copy)
    again = tmp_path / "again"
    card = {k: v for k, v in loaded.card.items() if k != "files"}
    artifact.save(again, loaded.vectorizer, loaded.linear, loaded.labels, loaded.temperature, card)
    texts = ["Где мой заказ?! Верните деньги!!!", "Kiedy wyniki konkursu?", "Hello, an invoice?"]
    got = [p.to_dict() for p in Classifier.load(again).predict(texts)]
    assert got == [p.to_dict() for p in classifier.predict(texts)]
    with np.load(again / WEIGHTS_FILE) as stored:
        assert stored["coef"].dtype == np.float32  # half the size of float64 on disk
    reloaded = artifact.load(again)
    assert np.array_equal(reloaded.linear.coef_, single_precision(loaded.linear.coef_))


@pytest.mark.parametrize("name", [WEIGHTS_FILE, VOCAB_FILE])
def test_a_changed_file_is_refused_naming_it(model_copy: Path, name: str) -> None:
    with (model_copy / name).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match=f"{name}: its sha256 .* does not match"):
        Classifier.load(model_copy)


def test_a_truncated_model_with_a_matching_card_is_a_clear_error(model_copy: Path) -> None:
    """Whoever writes the directory can also write the card: the load must still fail
    cleanly, naming the model, not crash."""
    data = (model_copy / WEIGHTS_FILE).read_bytes()[:5000]
    (model_copy / WEIGHTS_FILE).write_bytes(data)
    card = _card(model_copy)
    card["files"][WEIGHTS_FILE] = artifact.sha256(data)
    _write_card(model_copy, card)
    with pytest.raises(ModelError, match="is inconsistent"):
        Classifier.load(model_copy)


class _Boom:
    """A pickle that creates a file when it is unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return (open, (str(self.target), "w"))


def test_a_malicious_pickle_with_a_matching_card_runs_nothing(
    model_copy: Path, tmp_path: Path
) -> None:
    """The weights file is read with allow_pickle=False: an object array inside it (a
    pickle) is refused and never unpickled, whatever the card says."""
    marker = tmp_path / "pwned"
    arrays = dict(np.load(model_copy / WEIGHTS_FILE))
    arrays["coef"] = np.array([_Boom(marker)], dtype=object)
    evil = model_copy / WEIGHTS_FILE
    with evil.open("wb") as fh:
        np.savez(fh, **arrays)  # object arrays are pickled inside the .npy
    card = _card(model_copy)
    card["files"][WEIGHTS_FILE] = artifact.sha256(evil.read_bytes())
    _write_card(model_copy, card)
    with pytest.raises(ModelError):
        Classifier.load(model_copy)
    assert not marker.exists()


def test_an_old_pickled_model_is_not_loaded(model_copy: Path, tmp_path: Path) -> None:
    """A model directory of the old format (model.joblib) is refused, nothing unpickled."""
    marker = tmp_path / "pwned"
    for name in (WEIGHTS_FILE, VOCAB_FILE):
        (model_copy / name).unlink()
    (model_copy / "model.joblib").write_bytes(pickle.dumps(_Boom(marker)))
    with pytest.raises(ModelError, match=r"weights\.npz is missing"):
        Classifier.load(model_copy)
    assert not marker.exists()


def test_a_symlinked_model_file_is_refused(model_copy: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.npz"
    shutil.move(model_copy / WEIGHTS_FILE, real)
    os.symlink(real, model_copy / WEIGHTS_FILE)
    with pytest.raises(ModelError, match="symbolic links"):
        Classifier.load(model_copy)


@pytest.mark.parametrize(
    ("card", "match"),
    [
        ([1, 2, 3], "expected a JSON object"),
        ("drop:policy", "policy: Field required"),
        ("drop:version", "version: Field required"),
        ("drop:files", "files: Field required"),
        ("bad:temperature", "temperature: Input should be greater than 0"),
    ],
)
def test_an_odd_card_is_a_clear_error(model_copy: Path, card: object, match: str) -> None:
    if isinstance(card, str):
        action, key = card.split(":")
        raw = _card(model_copy)
        if action == "drop":
            raw.pop(key)
        else:
            raw[key] = -1
        card = raw
    _write_card(model_copy, card)
    with pytest.raises(ModelError, match=match):
        Classifier.load(model_copy)


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model directory"):
        Classifier.load(tmp_path)


def test_card_reports_real_figures_and_the_floors_meet_their_targets() -> None:
    card = read_card(default_model_dir())
    real, policy = card["metrics_real"], card["policy"]
    assert real["n"] > 0 and set(real["figures"]) == {"ru", "pl", "en", "all"}
    for lang in ("ru", "pl", "en"):
        f = real["figures"][lang]
        assert f["ordinary_typed"] <= policy["targets"]["ordinary_typed"]
        assert f["ordinary_typed_high"] <= policy["targets"]["ordinary_typed_high"]
        assert 0.0 <= real["two_fold_estimate"][lang]["typed_found"] <= 1.0
        assert 0 < policy["type_floor"][lang] <= policy["high_floor"][lang] < 1


def test_the_lemma_tables_agree_with_simplemma(classifier: Classifier) -> None:
    """The model's tables replace simplemma's dictionaries: the same lemma for every form."""
    import random

    from custtype.text.tokens import simplemma_lemma

    for lang in ("pl", "en"):
        table = classifier.lemma_tables[lang]
        assert len(table) > 1000
        for form in random.Random(0).sample(sorted(table), 300):
            assert table[form] == simplemma_lemma(form, lang), form


def test_polish_is_lemmatised_without_loading_simplemma() -> None:
    """The first Polish message no longer decodes simplemma's 3.7 M-form dictionary."""
    import subprocess
    import sys

    code = (
        "import sys; from custtype import Classifier; c = Classifier.load(); "
        "p = c.predict(['Gdzie jest moja paczka? Zamówiłem ją tydzień temu, czekam!'])[0]; "
        "print(p.language, 'simplemma' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pl", "False"]
