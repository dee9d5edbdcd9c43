"""The files custtype ships: taxonomy, playbook, thresholds, lexicons, templates, the agent page.

Knowledge lives here as data, validated where it is loaded; a team overrides a file by
passing its own (playbook, thresholds), never by editing these.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
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
