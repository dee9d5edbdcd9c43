"""Write scored rows safely: a temp file beside the target, checkpoints, an atomic rename.

The output appears under its final name only when every row is written. Each committed
chunk is flushed to disk and recorded in a checkpoint file next to the temp output, so an
interrupted run resumes with no row written twice or skipped.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import logging
import math
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from custtype.batch.read import STDIO, Format, Position
from custtype.errors import InputError

log = logging.getLogger(__name__)
CHECKPOINT_VERSION = 1
_PART_ROWS = 65_536
_WHAT = {
    "input": "the input path",
    "input_size": "the input file",
    "input_mtime_ns": "the input file",
    "format": "the output format",
    "options": "the scoring options",
    "model_version": "the model",
}


def _json_default(value: Any) -> Any:
    """JSON for values json cannot encode (dates, decimals, bytes)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | bytes):
        return str(value)
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def json_value(value: Any) -> Any:
    """A value ready for json.dumps: NaN and pandas' missing markers become null."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def text_cell(value: Any) -> str:
    """A value as one CSV/TSV cell: null is empty, nested values are JSON."""
    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return str(value)


def json_text(value: Any) -> Any:
    """Keep text and null; encode anything else as JSON text (for string columns)."""
    value = json_value(value)
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_json_default)


class Writer:
    """Base writer: `write(frame)`, `sync()` returning the durable position, `close()`."""

    def write(self, frame: pd.DataFrame) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def sync(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release files (the default has nothing to release)."""


class TextWriter(Writer):
    """CSV, TSV or JSON Lines into a binary stream; positions are byte offsets."""

    def __init__(
        self,
        fh: BinaryIO,
        fmt: Format,
        columns: Sequence[str] | None,
        header: bool,
        delimiter: str | None = None,
    ):
        """`delimiter`: a CSV's (default ','). A CSV/TSV file starts with a UTF-8 byte order
        mark: without it Excel reads UTF-8 as the Windows code page and garbles Cyrillic
        and Polish letters."""
        self.fh = fh
        self.fmt = fmt
        self.columns = list(columns) if columns is not None else None
        self.delimiter = "\t" if fmt == "tsv" else (delimiter or ",")
        if header and fmt in ("csv", "tsv") and self.columns is not None:
            self.fh.write(codecs.BOM_UTF8)
            self._write_rows([self.columns])

    def _write_rows(self, rows: Any) -> None:
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.delimiter, lineterminator="\n").writerows(rows)
        self.fh.write(buf.getvalue().encode("utf-8", "replace"))

    def write(self, frame: pd.DataFrame) -> None:
        """Append a chunk: JSON Lines as they come, CSV/TSV in fixed columns."""
        if self.fmt == "jsonl":
            cols = list(frame.columns)
            lines = [
                json.dumps(
                    {c: json_value(v) for c, v in zip(cols, row, strict=True)},
                    ensure_ascii=False,
                    default=_json_default,
                )
                for row in frame.itertuples(index=False, name=None)
            ]
            self.fh.write(("\n".join(lines) + "\n").encode("utf-8", "replace") if lines else b"")
            return
        cols = self.columns if self.columns is not None else list(frame.columns)
        sub = frame.reindex(columns=cols)
        self._write_rows(
            [text_cell(v) for v in row] for row in sub.itertuples(index=False, name=None)
        )

    def sync(self) -> int:
        """Flush to disk; the byte offset reached."""
        self.fh.flush()
        if self.fh is not sys.stdout.buffer:
            os.fsync(self.fh.fileno())
        return self.fh.tell() if self.fh.seekable() else 0

    def close(self) -> None:
        """Flush stdout (a closed pipe is not an error here) or close the file."""
        if self.fh is sys.stdout.buffer:
            with contextlib.suppress(BrokenPipeError):
                self.fh.flush()
        else:
            self.fh.close()


class PartsWriter(Writer):
    """Parquet as numbered part files (resumable), merged into one file at the end."""

    def __init__(
        self,
        directory: Path,
        schema: Any,
        converters: dict[str, Callable[[Any], Any]],
        first_part: int = 0,
    ) -> None:
        self.directory = directory
        self.schema = schema
        self.converters = converters
        self.parts = first_part
        directory.mkdir(parents=True, exist_ok=True)

    def write(self, frame: pd.DataFrame) -> None:
        """Write a chunk as the next durable part file."""
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

        data = {}
        for name in self.schema.names:
            values = frame[name].tolist() if name in frame.columns else [None] * len(frame)
            conv = self.converters.get(name, json_value)
            data[name] = [conv(v) for v in values]
        try:
            table = pa.Table.from_pydict(data, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise InputError(
                f"Cannot write rows {frame.index[0] + 1}-{frame.index[-1] + 1} "
                f"to Parquet: {exc}. Write CSV or JSON Lines instead."
            ) from None
        path = self.directory / f"part-{self.parts:06d}.parquet"
        with path.open("wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        self.parts += 1

    def sync(self) -> int:
        return self.parts

    def merge(self, target: Path) -> None:
        """Concatenate the parts into `target` in row groups of up to 65,536 rows."""
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

        with pq.ParquetWriter(target, self.schema) as out:
            pending: list[Any] = []
            rows = 0
            for k in range(self.parts):
                table = pq.read_table(self.directory / f"part-{k:06d}.parquet", schema=self.schema)
                pending.append(table)
                rows += table.num_rows
                if rows >= _PART_ROWS:
                    out.write_table(pa.concat_tables(pending), row_group_size=_PART_ROWS)
                    pending, rows = [], 0
            if pending or self.parts == 0:
                out.write_table(
                    pa.concat_tables(pending) if pending else self.schema.empty_table(),
                    row_group_size=_PART_ROWS,
                )


class OutputJob:
    """The output of one run: temp file/parts and checkpoint beside `target`, renamed at end.

    `start` is where the input must be read from (after the rows an interrupted run wrote).
    """

    def __init__(
        self,
        target: str | Path,
        fmt: Format,
        fingerprint: dict[str, Any],
        resume: bool = False,
        columns: Sequence[str] | None = None,
        schema: Any = None,
        converters: dict[str, Callable[[Any], Any]] | None = None,
        delimiter: str | None = None,
    ) -> None:
        """Open the temp output, fresh or cut back to the last checkpoint (`delimiter`: a
        CSV output's)."""
        self.stdout = str(target) == STDIO
        self.fmt = fmt
        self.fingerprint = fingerprint
        self.start = Position()
        self.committed = 0  # chunks made durable by this run
        if self.stdout:
            if resume:
                raise InputError("--resume needs an output file, not '-' (stdout).")
            self.writer: Writer = TextWriter(sys.stdout.buffer, fmt, columns, header=True)
            return
        self.final = Path(target)
        if not self.final.parent.is_dir():
            raise InputError(f"Output folder {str(self.final.parent)!r} does not exist.")
        self.temp = self.final.with_name(self.final.name + ".part")
        self.checkpoint = self.final.with_name(self.final.name + ".part.json")
        written = self._resume_point() if resume else None
        if written is None:
            self.discard()
        if fmt == "parquet":
            self.writer = PartsWriter(self.temp, schema, converters or {}, written or 0)
            self._drop_parts_from(written or 0)
        elif written is None:
            self.writer = TextWriter(self.temp.open("wb"), fmt, columns, True, delimiter)
        else:
            fh = self.temp.open("r+b")
            fh.truncate(written)
            fh.seek(written)
            self.writer = TextWriter(fh, fmt, columns, False, delimiter)

    def discard(self) -> None:
        """Remove the temp output and checkpoint (a fresh start, or nothing worth keeping)."""
        if self.temp.is_dir():
            shutil.rmtree(self.temp)
        else:
            self.temp.unlink(missing_ok=True)
        self.checkpoint.unlink(missing_ok=True)

    def _drop_parts_from(self, first: int) -> None:
        for part in self.temp.glob("part-*.parquet"):
            if int(part.stem.split("-")[1]) >= first:
                part.unlink()

    def _resume_point(self) -> int | None:
        """Read the checkpoint; set `start`; return the output position, None to start over."""
        if not self.checkpoint.is_file() or not self.temp.exists():
            log.info("no interrupted run of %s to resume; starting from the first row", self.final)
            return None
        try:
            saved = json.loads(self.checkpoint.read_text("utf-8"))
            position = Position(int(saved["rows"]), int(saved["offset"]), int(saved["line"]))
            written = int(saved["output"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"Cannot resume: checkpoint {str(self.checkpoint)!r} is unreadable ({exc}). "
                "Run again without --resume to start over."
            ) from None
        old = saved.get("fingerprint", {})
        keys = set(old) | set(self.fingerprint)
        changed = sorted({_WHAT.get(k, k) for k in keys if old.get(k) != self.fingerprint.get(k)})
        if changed:
            raise InputError(
                f"Cannot resume into {str(self.final)!r}: {' and '.join(changed)} changed since "
                "the interrupted run. Run again without --resume to start over."
            )
        self.start = position
        return written

    def commit(self, end: Position) -> None:
        """Make everything written so far durable and record `end` as the resume point."""
        written = self.writer.sync()
        if self.stdout:
            self.committed += 1
            return
        state = {
            "custtype_checkpoint": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
            "rows": end.rows,
            "offset": end.offset,
            "line": end.line,
            "output": written,
        }
        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False), "utf-8")
        os.replace(tmp, self.checkpoint)
        self.committed += 1

    def finish(self) -> None:
        """Close the output and move it to its final name; remove the checkpoint."""
        self.writer.close()
        if self.stdout:
            return
        if isinstance(self.writer, PartsWriter):
            merged = self.final.with_name(self.final.name + ".merge")
            self.writer.merge(merged)
            os.replace(merged, self.final)
            shutil.rmtree(self.temp)
        else:
            os.replace(self.temp, self.final)
        self.checkpoint.unlink(missing_ok=True)

    def abort(self) -> None:
        """Close files and keep the temp output and checkpoint for --resume."""
        self.writer.close()
