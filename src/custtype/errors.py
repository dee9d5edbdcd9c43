"""One base error for the library so callers can catch everything custtype raises."""

from __future__ import annotations


class CusttypeError(Exception):
    """Base class of every error custtype raises on purpose."""


class UnknownTypeError(CusttypeError, KeyError):
    """A customer-type key that is not in the taxonomy."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownLanguageError(CusttypeError, ValueError):
    """A language outside ru/pl/en where one of them is required."""


class PlaybookError(CusttypeError, ValueError):
    """A playbook or override file that cannot be read or does not validate."""


class ModelError(CusttypeError, RuntimeError):
    """A model directory that is missing, tampered with or built with other libraries."""


class InputError(CusttypeError, ValueError):
    """A message or file the library cannot score (empty text, bad column, bad row)."""


class DataError(CusttypeError, ValueError):
    """Training data that fails validation."""


class StoreError(CusttypeError, RuntimeError):
    """The feedback store cannot be opened or written (bad URL, database down, bad schema)."""


class FeedbackError(CusttypeError, ValueError):
    """Feedback that refers to an unknown prediction or label, or contradicts itself."""
