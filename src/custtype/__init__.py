"""custtype: which behavioural customer type a support message shows, and how to serve it.

The type is an internal aid for the agent: never shown to the customer, never the sole
trigger of an adverse action.
"""

from __future__ import annotations

__version__ = "0.2.0"

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
