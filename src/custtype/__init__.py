"""custtype: which behavioural customer type a support message shows, and how to serve it.

The type is an internal aid for the agent: never shown to the customer, never the sole
trigger of an adverse action.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    CusttypeError,
    DataError,
    InputError,
    ModelError,
    PlaybookError,
    UnknownLanguageError,
    UnknownTypeError,
)
from .evidence import Evidence  # noqa: E402
from .language import detect_language  # noqa: E402
from .model import Classifier, Prediction  # noqa: E402
from .normalize import normalize  # noqa: E402
from .playbook import Playbook, Strategy, load_playbook  # noqa: E402
from .recommend import MessageContext, Recommendation, recommend  # noqa: E402
from .taxonomy import LABELS, LANGS, TYPES, type_name  # noqa: E402

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
