"""custtype: which behavioural customer type a support message shows, and how to serve it.

The type is an internal aid for the agent: never shown to the customer, never the sole
trigger of an adverse action.
"""

from __future__ import annotations

__version__ = "0.2.0"

from importlib import import_module
from typing import TYPE_CHECKING, Any

# The public names, loaded on first use (PEP 562): `custtype.errors` or the CLI's help must
# not pay for scikit-learn, scipy and the model code (~0.5 s of every `custtype` command, and
# of the server's supervisor before it starts its workers).
_HOME = {
    "Advice": "custtype.advice",
    "Assistant": "custtype.advice",
    "CusttypeError": "custtype.errors",
    "DataError": "custtype.errors",
    "InputError": "custtype.errors",
    "ModelError": "custtype.errors",
    "PlaybookError": "custtype.errors",
    "UnknownLanguageError": "custtype.errors",
    "UnknownTypeError": "custtype.errors",
    "Classifier": "custtype.model.classifier",
    "Prediction": "custtype.model.classifier",
    "Evidence": "custtype.model.evidence",
    "MessageContext": "custtype.strategy.context",
    "Playbook": "custtype.strategy.playbook",
    "Strategy": "custtype.strategy.playbook",
    "load_playbook": "custtype.strategy.playbook",
    "Recommendation": "custtype.strategy.rules",
    "recommend": "custtype.strategy.rules",
    "CHANNELS": "custtype.taxonomy",
    "LABELS": "custtype.taxonomy",
    "LANGS": "custtype.taxonomy",
    "TYPES": "custtype.taxonomy",
    "type_name": "custtype.taxonomy",
    "detect_language": "custtype.text.language",
    "normalize": "custtype.text.normalize",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'custtype' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # the same names, imported for type checkers and IDEs
    from custtype.advice import Advice, Assistant
    from custtype.errors import (
        CusttypeError,
        DataError,
        InputError,
        ModelError,
        PlaybookError,
        UnknownLanguageError,
        UnknownTypeError,
    )
    from custtype.model.classifier import Classifier, Prediction
    from custtype.model.evidence import Evidence
    from custtype.strategy.context import MessageContext
    from custtype.strategy.playbook import Playbook, Strategy, load_playbook
    from custtype.strategy.rules import Recommendation, recommend
    from custtype.taxonomy import CHANNELS, LABELS, LANGS, TYPES, type_name
    from custtype.text.language import detect_language
    from custtype.text.normalize import normalize

__all__ = [
    "CHANNELS",
    "LABELS",
    "LANGS",
    "TYPES",
    "Advice",
    "Assistant",
    "Classifier",
    "CusttypeError",
    "DataError",
    "Evidence",
    "InputError",
    "MessageContext",
    "ModelError",
    "Playbook",
    "PlaybookError",
    "Prediction",
    "Recommendation",
    "Strategy",
    "UnknownLanguageError",
    "UnknownTypeError",
    "__version__",
    "detect_language",
    "load_playbook",
    "normalize",
    "recommend",
    "type_name",
]
