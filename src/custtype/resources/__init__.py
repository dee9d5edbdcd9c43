"""The files custtype ships: taxonomy, playbook, thresholds, lexicons, templates, the agent page.

Knowledge lives here as data, validated where it is loaded; a team overrides a file by
passing its own (playbook, thresholds), never by editing these.
"""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

# libyaml's C loader parses the lexicons ~15x faster than the pure-Python one (~0.1 s of
# every start-up); PyYAML ships it in its wheels, the fallback covers a source build
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def resource(name: str) -> Traversable:
    """A shipped file by its path under custtype/resources, e.g. ``"lexicons/ru.yaml"``."""
    return files(__name__).joinpath(name)


def parse_yaml(text: str) -> Any:
    """YAML text as plain Python data (safe: no tags that construct objects)."""
    return yaml.load(text, Loader=_LOADER)


def override_key(path: str | Path | None, env: str) -> tuple[str | None, float]:
    """The cache key of a team's override file: `path`, else the file named by $`env`, with
    its modification time (-1 when it cannot be read, so the loader says why); (None, 0.0)
    for the shipped file. An edited file is read again; an unchanged one is not."""
    if path is None:
        path = os.environ.get(env) or None
    if path is None:
        return None, 0.0
    try:
        return str(path), Path(path).stat().st_mtime
    except OSError:
        return str(path), -1.0


def read_user_yaml(
    path: Path, what: str, kind: str, shape: str, error: type[Exception]
) -> dict[str, Any]:
    """A team's YAML file as a mapping; `error` names the file and what is wrong in one line
    (missing, unreadable, nested too deeply, YAML error with its position, not a mapping).
    `what` is e.g. "Playbook override", `kind` "a playbook", `shape` what the mapping holds."""
    name = str(path)
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} file {name!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"Cannot read {what[0].lower()}{what[1:]} {name!r}: {exc}.") from None
    except RecursionError:
        raise error(f"{what} {name!r} is nested too deeply to be {kind}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise error(f"{what} {name!r} is not valid YAML{at}: {problem}.") from None
    if not isinstance(raw, dict):
        raise error(f"{what} {name!r} must be a mapping{shape}, found {type(raw).__name__}.")
    return raw
