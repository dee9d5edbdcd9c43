"""custtype: which behavioural customer type a support message shows, and how to serve it.

The type is an internal aid for the agent: never shown to the customer, never the sole
trigger of an adverse action.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    CusttypeError,
    DataError,
    InputError,
    ModelError,
    PlaybookError,
    UnknownLanguageError,
    UnknownTypeError,
)
from .evidence import Evidence
from .language import detect_language
from .model import Classifier, Prediction
from .normalize import normalize
from .playbook import Playbook, Strategy, load_playbook
from .recommend import MessageContext, Recommendation, recommend
from .taxonomy import LABELS, LANGS, TYPES, type_name

__all__ = [
    "LABELS",
    "LANGS",
    "TYPES",
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
