"""The HTTP service: FastAPI app factory, settings and `custtype serve`.

The type is an internal aid for agents: never shown to the customer, never the sole trigger
of an adverse action.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custtype.api.settings import Settings

if TYPE_CHECKING:
    from custtype.api.app import create_app
    from custtype.api.server import serve

__all__ = ["Settings", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    """create_app and serve on first use: `serve`'s supervisor never needs the app."""
    if name == "create_app":
        from custtype.api.app import create_app

        return create_app
    if name == "serve":
        from custtype.api.server import serve

        return serve
    raise AttributeError(f"module 'custtype.api' has no attribute {name!r}")
