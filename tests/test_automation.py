"""The automation policy: levels per type, confidence floors, judgement types held back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from custtype.errors import PlaybookError
from custtype.strategy.automation import load_automation
from custtype.taxonomy import JUDGEMENT_TYPES, TYPES


def _policy(tmp_path: Path, **changes: dict[str, object]) -> Path:
    types = {t: {"level": "suggest", "min_confidence": 0.0} for t in TYPES}
    types.update(changes)
    path = tmp_path / "automation.yaml"
    path.write_text(yaml.safe_dump({"version": 2, "types": types}), "utf-8")
    return path


def test_the_shipped_policy_keeps_judgement_types_at_suggest() -> None:
    policy = load_automation()
    assert set(policy.types) == set(TYPES)
    for key in JUDGEMENT_TYPES:
        assert policy.action_for(key, 1.0).level == "suggest"


def test_below_its_floor_an_automated_type_is_only_suggested(tmp_path: Path) -> None:
    path = _policy(tmp_path, tester={"level": "auto_tag", "min_confidence": 0.9, "queue": "qa"})
    policy = load_automation(path)
    assert policy.action_for("tester", 0.95).level == "auto_tag"
    assert policy.action_for("tester", 0.95).queue == "qa"
    assert policy.action_for("tester", 0.89).level == "suggest"
    assert policy.action_for("tester", 0.89).queue is None
    assert policy.action_for(None, 1.0).level == "off"  # none / undetermined: nothing to act on


@pytest.mark.parametrize("key", JUDGEMENT_TYPES)
def test_a_judgement_type_beyond_suggest_needs_an_explicit_line(tmp_path: Path, key: str) -> None:
    with pytest.raises(PlaybookError, match=f"{key}.*allow_beyond_suggest"):
        load_automation(_policy(tmp_path, **{key: {"level": "preselect", "min_confidence": 0.9}}))
    allowed = {"level": "preselect", "min_confidence": 0.9, "allow_beyond_suggest": True}
    assert load_automation(_policy(tmp_path, **{key: allowed})).action_for(key, 0.95).automated


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tester": {"level": "refund", "min_confidence": 0.5}}, "tester.level"),
        ({"tester": {"level": "auto_tag", "min_confidence": 0.5, "reply": "x"}}, "reply"),
        ({"tester": {"level": "auto_tag", "min_confidence": True}}, "min_confidence"),
        ({"tester": {"level": "auto_tag", "min_confidence": 1.5}}, "min_confidence"),
        ({"pirate": {"level": "off", "min_confidence": 0.5}}, "unknown types"),
    ],
)
def test_anything_but_tagging_and_routing_is_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    with pytest.raises(PlaybookError, match=message):
        load_automation(_policy(tmp_path, **change))  # type: ignore[arg-type]


def test_every_type_needs_a_level(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("version: 1\ntypes:\n  tester: {level: suggest, min_confidence: 0}\n", "utf-8")
    with pytest.raises(PlaybookError, match="types missing: want_it_now"):
        load_automation(path)


def test_the_environment_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _policy(tmp_path, want_it_now={"level": "off", "min_confidence": 0.0})
    monkeypatch.setenv("CUSTTYPE_AUTOMATION", str(path))
    policy = load_automation()
    assert policy.action_for("want_it_now", 0.99).level == "off"
    assert policy.version == 2 and policy.label.startswith("2:")


def test_a_missing_or_broken_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match=r"Automation policy file .* does not exist"):
        load_automation(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("[" * 20_000, "utf-8")
    # libyaml: "maximum nesting depth" (not valid YAML); pure Python: "nested too deeply"
    with pytest.raises(PlaybookError, match=r"not valid YAML|nested too deeply"):
        load_automation(bad)
