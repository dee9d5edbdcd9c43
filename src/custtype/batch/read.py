"""Read message files in chunks (CSV, TSV, JSON Lines, Parquet, Excel), keeping every record.

Malformed records are not dropped: each becomes a row that carries a problem naming its
line, so a batch job writes exactly one output row per input row. Readers track byte
offsets and line numbers so an interrupted run can resume exactly where it stopped.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import pandas as pd

from custtype.errors import InputError

Format = Literal["csv", "tsv", "jsonl", "parquet", "xlsx"]
STDIO = "-"
WHERE = "_custtype_where"
PROBLEM = "_custtype_problem"
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
_BAD_UTF8 = "not valid UTF-8 (re-save the file as UTF-8)"
_SNIFF_BYTES = 256 * 1024  # what encoding and delimiter detection read of a file
_DELIMITERS = ",;\t|"
_MIN_GUESS_BYTES = 20  # non-ASCII bytes a guess at a given encoding needs to be said


def _bad_bytes(encoding: str, given: bool = False) -> str:
    """The problem of a line that does not decode (in an encoding given or detected)."""
    if given:
        return f"not valid {encoding} (the encoding given; leave --encoding out to detect it)"
    if encoding == "utf-8":
        return _BAD_UTF8
    return f"not valid {encoding} (pass the file's encoding with --encoding)"


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV's first bytes: UTF-8 when they decode as such, else what
    charset-normalizer finds (cp1251 and cp1250 are what Russian and Polish offices save)."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "The file is UTF-16 (Excel's 'Unicode text'): save it as CSV UTF-8, or as .xlsx."
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return str(best.encoding) if best is not None else "utf-8"


def detect_delimiter(text: str) -> str:
    """The delimiter of a CSV's first lines (comma when nothing else fits)."""
    try:
        return csv.Sniffer().sniff(text, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = text.split("\n", 1)[0]
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def file_format(path: str | Path) -> Format:
    """The format of a path from its extension; '-' (stdin/stdout) is JSON Lines."""
    if str(path) == STDIO:
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise InputError(
        f"Cannot tell the format of {str(path)!r} from its extension {suffix or '(none)'!r}; "
        f"use one of {', '.join(sorted(_SUFFIXES))}, or '-' for JSON Lines on stdin/stdout."
    )


@dataclass(frozen=True)
class Position:
    """A point in the input: records read so far, byte offset and physical lines consumed."""

    rows: int = 0
    offset: int = 0
    line: int = 0


@dataclass
class Chunk:
    """Consecutive input records as a frame (object dtype, plus WHERE/PROBLEM) and its end."""

    frame: pd.DataFrame
    end: Position


@dataclass
class _Record:
    where: str
    values: dict[str, Any]
    problem: str | None
    end: Position


@dataclass
class _Builder:
    """Collects records and turns them into a chunk frame with a stable column order."""

    columns: list[str]
    first_row: int
    records: list[_Record] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The records as an object-dtype frame indexed by row number."""
        cols = list(self.columns)
        seen = set(cols)
        for rec in self.records:
            for key in rec.values:
                if key not in seen:
                    seen.add(key)
                    cols.append(key)
        data: dict[str, list[Any]] = {c: [r.values.get(c) for r in self.records] for c in cols}
        data[WHERE] = [r.where for r in self.records]
        data[PROBLEM] = [r.problem for r in self.records]
        index = pd.RangeIndex(self.first_row, self.first_row + len(self.records))
        return pd.DataFrame(data, index=index, dtype=object)


class _Lines:
    """Binary lines decoded (UTF-8 by default), counting bytes, lines and quote characters."""

    def __init__(self, fh: BinaryIO, start: Position, encoding: str = "utf-8") -> None:
        self.fh = fh
        self.encoding = encoding
        self.offset = start.offset
        self.line = start.line
        self.bad_utf8 = False
        self.quotes = 0

    def reset(self) -> None:
        self.bad_utf8 = False
        self.quotes = 0

    def __iter__(self) -> Iterator[str]:
        """Decoded lines; undecodable bytes are replaced and flagged, a BOM dropped."""
        for raw in self.fh:
            first = self.offset == 0
            self.offset += len(raw)
            self.line += 1
            self.quotes += raw.count(b'"')
            try:
                text = raw.decode(self.encoding)
            except UnicodeDecodeError:
                text = raw.decode(self.encoding, "replace")
                self.bad_utf8 = True
            yield text[1:] if first and text.startswith("\ufeff") else text


def _count_lines(path: Path) -> int:
    """Lines in a file (a cheap upper estimate of its records)."""
    n = 0
    last = b"\n"
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (last != b"\n")


class Reader:
    """Base of the format readers: `columns`, `chunks(start, size)`, `estimate_rows()`."""

    def __init__(self, path: str | Path) -> None:
        """Check the path exists ('-' is stdin)."""
        self.path = Path(path) if str(path) != STDIO else None
        self.name = str(path) if self.path else "<stdin>"
        self.columns: list[str] = []
        self.data_start = Position()
        self.fmt: Format = "jsonl"
        self.detected: dict[str, str] = {}  # what a CSV reader detected (encoding, delimiter)
        self.delimiter: str | None = None
        self.given = False  # whether the user gave the encoding (a CSV's error rows say so)
        self.encoding: str | None = None
        if self.path is not None and not self.path.is_file():
            raise InputError(f"Input file {str(path)!r} does not exist.")

    @property
    def csv_delimiter(self) -> str | None:
        """A CSV input's delimiter, for a CSV output to keep (None for other formats)."""
        return self.delimiter if self.fmt == "csv" else None

    def records(self, start: Position) -> Iterator[_Record]:  # pragma: no cover - abstract
        """Every record from `start`, each with its position after it."""
        raise NotImplementedError

    def estimate_rows(self) -> int | None:
        """Rows in the input, or an upper estimate (lines), or None for stdin."""
        return None if self.path is None else _count_lines(self.path)

    def chunks(self, start: Position | None = None, size: int = 1000) -> Iterator[Chunk]:
        """Chunks of at most `size` records from `start` (default: the first record)."""
        begin = start if start is not None and start.rows > 0 else self.data_start
        builder = _Builder(self.columns, begin.rows)
        for rec in self.records(begin):
            builder.records.append(rec)
            if len(builder.records) >= size:
                yield Chunk(builder.frame(), rec.end)
                builder = _Builder(self.columns, rec.end.rows)
        if builder.records:
            yield Chunk(builder.frame(), builder.records[-1].end)

    def boundaries(self, start: Position | None, every: int) -> list[Position]:
        """Positions after every `every` records, and at the end: partitions for Dask."""
        begin = start if start is not None and start.rows > 0 else self.data_start
        marks: list[Position] = [begin]
        last = begin
        for rec in self.records(begin):
            last = rec.end
            if last.rows - marks[-1].rows >= every:
                marks.append(last)
        if last != marks[-1]:
            marks.append(last)
        return marks

    def _open(self) -> BinaryIO:
        if self.path is None:
            return sys.stdin.buffer
        return self.path.open("rb")


class CsvReader(Reader):
    """CSV or TSV with a header row; every field is read as text, exactly as written. The
    encoding and (for CSV) the delimiter are detected unless given; `detected` says what
    was used and how."""

    def __init__(
        self,
        path: str | Path,
        delimiter: str | None = ",",
        encoding: str | None = "utf-8",
        tsv: bool = False,
        given: bool | None = None,
    ) -> None:
        """Read and check the header (decodable, no duplicate names). `given`: whether the
        user gave `encoding` (default: whenever it is passed; a Dask partition passes on a
        detected one)."""
        super().__init__(path)
        if self.path is None:
            raise InputError("Only JSON Lines can be read from stdin; give a .csv file path.")
        with self.path.open("rb") as fh:
            sample = fh.read(_SNIFF_BYTES)
        self.codec = _check_encoding(encoding) if encoding else detect_encoding(sample)
        self.encoding = self.codec
        self.given = bool(encoding) if given is None else given
        looks = ""
        if self.given and len(sample.translate(None, bytes(range(128)))) >= _MIN_GUESS_BYTES:
            # a wrong single-byte code page decodes without error: say if it looks off (only
            # with enough non-ASCII bytes to tell: a two-row cp1250 file looked like cp1257)
            guess = _check_encoding(detect_encoding(sample))
            looks = f" (given; the file looks like {guess})" if guess != self.codec else ""
        text = sample.decode(self.codec, "replace").lstrip("\ufeff")
        if tsv:
            delimiter = "\t"
        self.sep = delimiter or detect_delimiter("\n".join(text.splitlines()[:50]))
        self.delimiter = self.sep
        self.detected = {
            "encoding": f"{self.codec}{looks if self.given else ' (detected)'}",
            "delimiter": f"{self.sep!r}{'' if delimiter else ' (detected)'}",
        }
        self.fmt = "tsv" if self.sep == "\t" else "csv"
        csv.field_size_limit(2**31 - 1)  # over-long texts become error rows, not csv.Error
        self.size = self.path.stat().st_size
        with self.path.open("rb") as fh:
            lines = _Lines(fh, Position(), self.codec)
            try:
                header = next(csv.reader(iter(lines), delimiter=self.sep))
            except StopIteration:
                raise InputError(f"{self.name} is empty: expected a header row.") from None
            except csv.Error as exc:
                raise InputError(f"{self.name}, line 1: cannot read the header: {exc}.") from None
            self.data_start = Position(0, lines.offset, lines.line)
        if lines.bad_utf8:
            raise InputError(
                f"{self.name}, line 1: the header is {_bad_bytes(self.codec, self.given)}."
            )
        dupes = sorted({c for c in header if header.count(c) > 1})
        if dupes:
            raise InputError(
                f"{self.name}, line 1: column {dupes[0]!r} appears more than once in the "
                "header; rename one of them."
            )
        self.columns = header

    def records(self, start: Position) -> Iterator[_Record]:
        """Records with their first line; malformed ones carry a problem."""
        n = len(self.columns)
        rows = start.rows
        with self._open() as fh:
            fh.seek(start.offset)
            lines = _Lines(fh, start, self.codec)
            reader = csv.reader(iter(lines), delimiter=self.sep)
            while True:
                first = lines.line + 1
                lines.reset()
                problem = None
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    fields, problem = [], f"malformed CSV row ({exc})"
                if not fields and problem is None:
                    continue  # a blank line is not a record
                rows += 1
                problem = problem or self._problem(fields, n, lines, first)
                end = Position(rows, lines.offset, lines.line)
                values = dict(zip(self.columns, fields, strict=False))
                yield _Record(f"line {first}", values, problem, end)

    def _problem(self, fields: list[str], n: int, lines: _Lines, first: int) -> str | None:
        """What is wrong with a parsed CSV record, if anything."""
        if lines.bad_utf8:
            return _bad_bytes(self.codec, self.given)
        if lines.offset == self.size and lines.line > first and lines.quotes % 2 == 1:
            return (
                f"a quoted field opened here is never closed: lines {first}-{lines.line} "
                "(the rest of the file) were read as this one row"
            )
        if len(fields) != n:
            hint = " (an unquoted line break in a field?)" if len(fields) < n else ""
            return f"malformed CSV row: expected {n} fields, found {len(fields)}{hint}"
        return None


class JsonlReader(Reader):
    """JSON Lines: one JSON object per line; values keep their JSON types."""

    def records(self, start: Position) -> Iterator[_Record]:
        """One record per non-blank line; bad lines carry a problem."""
        rows = start.rows
        fh = self._open()
        try:
            if self.path is not None:
                fh.seek(start.offset)
            lines = _Lines(fh, start)
            for text in lines:
                bad_utf8 = lines.bad_utf8
                lines.reset()
                if not text.strip():
                    continue
                rows += 1
                values, problem = self._parse(text, bad_utf8)
                end = Position(rows, lines.offset, lines.line)
                yield _Record(f"line {lines.line}", values, problem, end)
        finally:
            if self.path is not None:
                fh.close()

    @staticmethod
    def _parse(text: str, bad_utf8: bool) -> tuple[dict[str, Any], str | None]:
        """A line's object, or an empty record and the problem."""
        if bad_utf8:
            return {}, _BAD_UTF8
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            return {}, f"not valid JSON ({exc.msg} at column {exc.colno})"
        except RecursionError:
            return {}, "not valid JSON (nested too deeply)"
        if not isinstance(obj, dict):
            return {}, f"expected a JSON object, found {type(obj).__name__}"
        return obj, None

    def scan(self) -> dict[str, set[str]]:
        """Every key in the file (in first-seen order) with the JSON kinds of its values."""
        kinds: dict[str, set[str]] = {}
        for rec in self.records(Position()):
            for key, value in rec.values.items():
                kinds.setdefault(key, set()).add(json_kind(value))
        self.columns = list(kinds)
        return kinds


def json_kind(value: Any) -> str:
    """The JSON kind of a parsed value: null, bool, int, float, str or nested."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "nested"


class ParquetReader(Reader):
    """Parquet, read in record batches; values keep their Arrow types."""

    def __init__(self, path: str | Path) -> None:
        """Open the file and read its schema."""
        super().__init__(path)
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

        if self.path is None:
            raise InputError("Only JSON Lines can be read from stdin; give a .parquet file path.")
        try:
            self.file = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise InputError(f"{self.name} is not a readable Parquet file: {exc}.") from None
        self.schema = self.file.schema_arrow
        self.fmt = "parquet"
        self.columns = list(self.schema.names)

    def estimate_rows(self) -> int:
        return int(self.file.metadata.num_rows)

    def boundaries(self, start: Position | None, every: int) -> list[Position]:
        """Row positions every `every` rows (read from the metadata, no data is read)."""
        total = self.estimate_rows()
        first = start.rows if start is not None else 0
        marks = [Position(r) for r in range(first, total, every)]
        return [*marks, Position(total)] if marks else [Position(first)]

    def records(self, start: Position) -> Iterator[_Record]:
        """Rows from `start`, skipping whole row groups before it."""
        meta = self.file.metadata
        groups: list[int] = []
        before = row = 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if row + n > start.rows:
                groups.append(g)
            else:
                before += n
            row += n
        if not groups:
            return
        rows, skip = start.rows, start.rows - before
        for batch in self.file.iter_batches(batch_size=4096, row_groups=groups):
            for values in batch.to_pylist()[skip:]:
                rows += 1
                yield _Record(f"row {rows}", values, None, Position(rows))
            skip = max(0, skip - batch.num_rows)


class XlsxReader(Reader):
    """The first sheet of an Excel workbook (.xlsx): the first row names the columns; cell
    values keep their types (text, numbers, dates)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        if self.path is None:
            raise InputError("Only JSON Lines can be read from stdin; give a .xlsx file path.")
        self.fmt = "xlsx"
        rows = self._rows()
        header = next(rows, None)
        if header is None:
            raise InputError(f"{self.name} is empty: expected a header row.")
        names = [str(v).strip() if v is not None else "" for v in header]
        while names and not names[-1]:
            names.pop()
        if "" in names:
            raise InputError(
                f"{self.name}, row 1: column {names.index('') + 1} has no name; name every column."
            )
        dupes = sorted({c for c in names if names.count(c) > 1})
        if dupes:
            raise InputError(
                f"{self.name}, row 1: column {dupes[0]!r} appears more than once; rename one."
            )
        self.columns = names

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        import zipfile

        from openpyxl import load_workbook

        try:
            book = load_workbook(self.path, read_only=True, data_only=True)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise InputError(f"{self.name} is not a readable .xlsx workbook: {exc}.") from None
        try:
            yield from book.worksheets[0].iter_rows(values_only=True)
        finally:
            book.close()

    def estimate_rows(self) -> int | None:
        return None

    def records(self, start: Position) -> Iterator[_Record]:
        """Rows after the header from `start`; an empty row is not a record, but a record is
        named by its row in the sheet, as Excel numbers it."""
        rows = 0
        n = len(self.columns)
        for sheet_row, values in enumerate(itertools.islice(self._rows(), 1, None), start=2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            rows += 1
            if rows <= start.rows:
                continue
            problem = None
            if any(v is not None for v in values[n:]):
                problem = f"row has values beyond the {n} named columns"
            record = dict(zip(self.columns, values[:n], strict=False))
            yield _Record(f"row {sheet_row}", record, problem, Position(rows))


def _check_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputError(f"Unknown encoding {name!r} (e.g. utf-8, cp1251, cp1250).") from None


def open_reader(
    path: str | Path,
    fmt: Format | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    given: bool | None = None,
) -> Reader:
    """A reader for `path` ('-' is JSON Lines on stdin), by extension unless `fmt` is given.
    For CSV/TSV, `delimiter` and `encoding` are detected unless given (`given`: see
    CsvReader)."""
    fmt = fmt or file_format(path)
    if fmt in ("csv", "tsv"):
        return CsvReader(path, delimiter, encoding, tsv=fmt == "tsv", given=given)
    if fmt == "parquet":
        return ParquetReader(path)
    if fmt == "xlsx":
        return XlsxReader(path)
    return JsonlReader(path)
