"""The HTTP service: FastAPI app factory, settings and `custtype serve`.

The type is an internal aid for agents: never shown to the customer, never the sole trigger
of an adverse action.
"""

from __future__ import annotations

from custtype.api.app import create_app, serve
from custtype.api.settings import Settings

__all__ = ["Settings", "create_app", "serve"]
