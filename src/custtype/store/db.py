"""Opening the store: the engine (SQLite in WAL mode by default), its migrations, its key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from custtype.errors import StoreError

_MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0001"  # the newest migration's revision (a test holds it to alembic's head)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL: readers never wait for the writer; a writer waits up to 5 s for another."""
    cur = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=5000",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases or an in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def create_store_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created and WAL switched on."""
    try:
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # no pre-ping (a round trip per transaction): a connection the server dropped fails
        # once and is replaced; recycling keeps them younger than a typical idle timeout
        engine = create_engine(url, pool_recycle=1800)
    except (ArgumentError, ValueError, ImportError) as exc:
        raise StoreError(f"CUSTTYPE_STORE_URL is not a usable database URL: {exc}") from None
    except OSError as exc:
        raise StoreError(f"Cannot create the store's folder: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; applying it again is a no-op. A store already
    there is only read: alembic (~0.3 s of imports and script loading at every server start)
    is needed only to change it."""
    try:
        if _revisions(engine) == [HEAD]:
            return
    except SQLAlchemyError as exc:
        raise _cannot_open(engine, exc) from None
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise _cannot_open(engine, exc) from None
    except CommandError as exc:  # e.g. a revision this version does not know
        raise StoreError(
            f"Cannot open the store {safe_url(engine)}: {exc}. Was it made by a newer custtype? "
            f"This version's newest schema revision is {HEAD}."
        ) from None


def _cannot_open(engine: Engine, exc: SQLAlchemyError) -> StoreError:
    reason = str(exc.orig if hasattr(exc, "orig") else exc).strip()
    return StoreError(
        f"Cannot open the store {safe_url(engine)}: {exc.__class__.__name__}: {reason}"
    )


def _revisions(engine: Engine) -> list[str]:
    """The revisions alembic recorded in the store (none for a new one)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return []
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def safe_url(engine: Engine) -> str:
    """The database URL with any password hidden (for messages and logs)."""
    return engine.url.render_as_string(hide_password=True)


def store_key(url: str, configured: str | None) -> bytes:
    """The secret of the keyed text hash: the configured one, else (SQLite only) a key file
    beside the database, created once with owner-only permissions."""
    if configured:
        return configured.encode("utf-8")
    path = sqlite_path(url)
    if path is None:
        raise StoreError(
            "Set CUSTTYPE_STORE_KEY (a long random secret shared by every server writing to "
            "this database): texts are stored as keyed hashes."
        )
    key_file = path.with_name(path.name + ".key")
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_bytes().strip()
    except OSError as exc:
        raise StoreError(f"Cannot create the store's key file {key_file}: {exc}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return key_file.read_bytes().strip()
