"""The files custtype ships: taxonomy, playbook, thresholds, lexicons, templates, the agent page.

Knowledge lives here as data, validated where it is loaded; a team overrides a file by
passing its own (playbook, thresholds), never by editing these.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def resource(name: str) -> Traversable:
    """A shipped file by its path under custtype/resources, e.g. ``"lexicons/ru.yaml"``."""
    return files(__name__).joinpath(name)
