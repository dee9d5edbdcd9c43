"""Shared fixtures: the shipped model is loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from custtype import Assistant, Classifier, load_playbook

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.fixture(scope="session")
def assistant(classifier: Classifier) -> Assistant:
    return Assistant(classifier, load_playbook())


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "TYPES.md").is_file():
        pytest.skip("../shared is not beside the checkout")
    return SHARED
