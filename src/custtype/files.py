"""Files custtype writes and tables it reads: one way to write atomically, one way to check
that a table has the columns asked for, one way to read a JSON Lines file of our own."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from custtype.errors import InputError

PART = ".part"  # suffix of an output being written; renamed to the final name when complete


@contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """A temporary path beside `target` to write to; renamed over `target` only when the
    block completes, removed if it fails (a reader never sees half a file)."""
    final = Path(target)
    tmp = final.with_name(final.name + PART)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(final, exc) from None
        raise


def write_error(target: str | Path, exc: OSError) -> InputError:
    """A clear error for a failed write, naming the file (disk full says so)."""
    if exc.errno == errno.ENOSPC:
        return InputError(f"No space left on the device while writing {target}: free some space.")
    return InputError(f"Cannot write {target}: {exc.strerror or exc}.")


def check_columns(
    source: str, have: Iterable[str], wanted: Iterable[tuple[str, str | None]]
) -> None:
    """Raise InputError naming the first wanted column (flag, name) that `have` lacks, and
    listing the columns there are."""
    present = list(have)
    for flag, column in wanted:
        if column is not None and column not in present:
            listed = ", ".join(c for c in present if not c.startswith("_custtype")) or "(none)"
            raise InputError(
                f"{source} has no column {column!r}; its columns are: {listed}. "
                f"Name the right one with {flag}."
            )


def json_lines(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, value, problem) for each non-blank line of a UTF-8 JSON Lines file;
    problem is "invalid JSON: …" (value None) for a line that does not parse. Batch input,
    which must resume and survive bad bytes, has its own reader (batch.read)."""
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield n, None, f"invalid JSON: {exc.msg}"
