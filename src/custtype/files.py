"""Files custtype writes and tables it reads: one way to write atomically, one way to check
that a table has the columns asked for."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
