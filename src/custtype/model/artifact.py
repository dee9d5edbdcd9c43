"""Model directories: write and read a trained model in a format that cannot run code.

A model is a directory: `weights.npz` (numpy arrays, read with ``allow_pickle=False``),
`vocab.json` (settings, labels and vocabularies), `lemmas.json` (the lemma tables the model
needs, per language, so simplemma's whole dictionaries need not load) and
`model_card.json` (version, decision policy, metrics and the sha256 of the others).
Each file is read once: the bytes that are hashed are the bytes that are parsed, so a file
swapped between the check and the use is never read. Neither file can execute code, so the
checksum guards integrity (a truncated or mixed-up copy), not safety.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from custtype.errors import ModelError
from custtype.model.linear import LinearModel
from custtype.model.policy import Policy
from custtype.model.vectorizer import MessageVectorizer
from custtype.validation import describe

WEIGHTS_FILE = "weights.npz"
VOCAB_FILE = "vocab.json"
LEMMAS_FILE = "lemmas.json"
CARD_FILE = "model_card.json"
MODEL_FILES = (WEIGHTS_FILE, VOCAB_FILE)  # and LEMMAS_FILE when the card lists it
_MAX_FILE_BYTES = 512 << 20  # a model file larger than this is not one of ours


class ModelCard(BaseModel):
    """The parts of a model card that loading relies on (the rest is documentation)."""

    model_config = ConfigDict(extra="allow")
    version: str = Field(min_length=1)
    labels: list[str] = Field(min_length=2)
    temperature: float = Field(gt=0.0)
    policy: Policy
    files: dict[str, str]


@dataclass(frozen=True)
class Artifact:
    """A loaded model: what the classifier needs, and its card."""

    vectorizer: MessageVectorizer
    linear: LinearModel
    labels: list[str]
    temperature: float
    card: dict[str, Any]
    lemma_tables: dict[str, dict[str, str]]

    @property
    def version(self) -> str:
        return str(self.card["version"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries the model was built with (recorded in the card)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(lib: str) -> str:
        try:
            return version(lib)
        except PackageNotFoundError:
            return "none"

    return {lib: installed(lib) for lib in ("scikit-learn", "numpy", "scipy")}


def default_model_dir() -> Path:
    """The model `custtype` uses by default: $CUSTTYPE_MODEL or the newest shipped one."""
    env = os.environ.get("CUSTTYPE_MODEL")
    if env:
        return Path(env)
    root = Path(str(files("custtype.models")))
    versions = sorted(p for p in root.iterdir() if (p / CARD_FILE).is_file())
    if not versions:
        raise ModelError(f"No trained model found in {root}. Run `custtype train` first.")
    return versions[-1]


def _read(path: Path) -> bytes:
    """A model file's bytes, read once (a symlink is refused: model files are plain files)."""
    try:
        if path.is_symlink():
            raise ModelError(f"Refusing to load {path}: model files must not be symbolic links.")
        with path.open("rb") as fh:
            data = fh.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ModelError(
            f"{path.parent} is not a model directory: {path.name} is missing "
            f"(a model has {', '.join((*MODEL_FILES, LEMMAS_FILE, CARD_FILE))})."
        ) from None
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if len(data) > _MAX_FILE_BYTES:
        raise ModelError(f"Refusing to load {path}: larger than {_MAX_FILE_BYTES >> 20} MB.")
    return data


def _json(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"Cannot read {path}: not valid JSON ({exc}).") from None


def read_card(directory: Path) -> dict[str, Any]:
    """A model directory's card, checked for the fields loading needs."""
    path = directory / CARD_FILE
    raw = _json(_read(path), path)
    if not isinstance(raw, dict):
        raise ModelError(f"Invalid model card {path}: expected a JSON object.")
    try:
        ModelCard.model_validate(raw)
    except ValidationError as exc:
        raise ModelError(f"Invalid model card {path}: {describe(exc)}.") from None
    return raw


def load(directory: str | Path | None = None) -> Artifact:
    """Read and check a model directory (default: the shipped model).

    Raises ModelError naming the file when a file is missing, changed (sha256 differs from
    the card), truncated or inconsistent.
    """
    folder = Path(directory) if directory is not None else default_model_dir()
    card = read_card(folder)
    parsed = ModelCard.model_validate(card)
    blobs = {}
    names = [*MODEL_FILES, *([LEMMAS_FILE] if LEMMAS_FILE in parsed.files else [])]
    for name in names:
        data = _read(folder / name)
        expected = parsed.files.get(name)
        if expected != sha256(data):
            raise ModelError(
                f"Refusing to load {folder / name}: its sha256 {sha256(data)[:12]}… does not "
                f"match the model card ({str(expected)[:12]}…). The file was changed, replaced "
                "or cut short; copy the model directory again or retrain with `custtype train`."
            )
        blobs[name] = data
    try:
        with np.load(io.BytesIO(blobs[WEIGHTS_FILE]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        config = _json(blobs[VOCAB_FILE], folder / VOCAB_FILE)
        vectorizer = MessageVectorizer.from_state(config["vectorizer"], arrays)
        labels = [str(label) for label in config["labels"]]
        coef = np.asarray(arrays["coef"], dtype=np.float64)  # float32 on disk since 2026-12
        linear = LinearModel(coef, arrays["intercept"], np.asarray(labels))
        if linear.coef_.shape != (len(labels), vectorizer.n_features):
            raise ValueError(f"weights of shape {linear.coef_.shape} do not fit the vocabulary")
        tables = _json(blobs[LEMMAS_FILE], folder / LEMMAS_FILE) if LEMMAS_FILE in blobs else {}
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            raise ValueError(f"{LEMMAS_FILE} must map languages to tables")
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"Model {folder} is inconsistent: {exc!s:.200}.") from None
    if labels != parsed.labels:
        raise ModelError(f"Model {folder}: the labels of {VOCAB_FILE} and the card differ.")
    return Artifact(vectorizer, linear, labels, parsed.temperature, card, tables)


def save(
    directory: Path,
    vectorizer: MessageVectorizer,
    linear: LinearModel,
    labels: list[str],
    temperature: float,
    card: dict[str, Any],
    lemma_tables: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Write a model directory; returns the card as written (with the files' sha256)."""
    directory.mkdir(parents=True, exist_ok=True)
    config, arrays = vectorizer.to_state()
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        allow_pickle=False,
        **{"coef": linear.coef_.astype(np.float32), "intercept": linear.intercept_, **arrays},
    )
    blobs = {
        WEIGHTS_FILE: buf.getvalue(),
        VOCAB_FILE: json.dumps({"labels": labels, "vectorizer": config}, ensure_ascii=False).encode(
            "utf-8"
        ),
    }
    if lemma_tables:
        blobs[LEMMAS_FILE] = json.dumps(lemma_tables, ensure_ascii=False).encode("utf-8")
    for name, data in blobs.items():
        (directory / name).write_bytes(data)
    written = {
        **card,
        "labels": labels,
        "temperature": temperature,
        "files": {name: sha256(data) for name, data in blobs.items()},
    }
    text = json.dumps(written, indent=2, ensure_ascii=False) + "\n"
    (directory / CARD_FILE).write_text(text, "utf-8")
    return written
