"""Compiled regular expressions kept between runs, as Python keeps bytecode in __pycache__.

A language's cue lexicon is one pattern of 57-88 k characters; Python's regex compiler, written
in Python, takes 0.12-0.27 s on each at every start of the CLI, a batch worker or the server,
where loading its compiled program takes ~3 ms. The program (the code list of `re._compiler`)
is written to a cache folder, under a key made of the pattern, the flags and the interpreter's
version. This reads private parts of `re`: on another Python where they differ, or with a
damaged or unwritable cache, it falls back to `re.compile`. The cache changes speed, never
what a pattern matches.

The folder: $CUSTTYPE_CACHE_DIR, else the user's cache folder (platformdirs); "off" turns it off.
"""

from __future__ import annotations

import array
import hashlib
import importlib
import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("custtype.cache")

ENV = "CUSTTYPE_CACHE_DIR"
_FORMAT = 1
_KEEP = 24  # programs kept; the oldest written go first (a lexicon edit makes a new one)
_SUFFIX = ".sre"


def cache_dir() -> Path | None:
    """Where compiled programs are kept, or None when caching is off."""
    chosen = os.environ.get(ENV)
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("custtype")) / "regex"


def compile_cached(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, read from the cache when this Python compiled it before."""
    folder = cache_dir()
    engine = _engine()
    if folder is None or engine is None:
        return re.compile(pattern, flags)
    path = folder / f"{_key(pattern, flags, engine[2])}{_SUFFIX}"
    try:
        return _load(path, pattern, engine)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, RuntimeError, KeyError) as exc:
        log.debug("regex cache: %s unusable (%s); compiling", path, exc)
    try:
        compiled, program = _compile(pattern, flags, engine)
    except (TypeError, AttributeError, ValueError, RuntimeError) as exc:  # re's insides moved
        log.debug("regex cache: cannot compile through re's insides (%s)", exc)
        return re.compile(pattern, flags)
    _store(folder, path, program)
    return compiled


def _engine() -> Any:
    """re's private parser, code generator and C engine, if this Python has the ones used."""
    try:
        _sre = importlib.import_module("_sre")
        _parser = importlib.import_module("re._parser")
        _compiler = importlib.import_module("re._compiler")
    except ImportError:
        return None
    if not all(hasattr(m, n) for m, n in ((_parser, "parse"), (_compiler, "_code"))):
        return None
    if array.array("I").itemsize != _sre.CODESIZE:
        return None
    return _parser, _compiler, _sre


def _key(pattern: str, flags: int, sre: Any) -> str:
    seed = f"{_FORMAT}\0{sys.version}\0{sre.MAGIC}\0{flags}\0{pattern}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _compile(pattern: str, flags: int, engine: Any) -> tuple[re.Pattern[str], dict[str, Any]]:
    """What re._compiler.compile does, keeping the program it builds."""
    parser, compiler, sre = engine
    parsed = parser.parse(pattern, flags)
    code = compiler._code(parsed, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    program = {
        "flags": flags | parsed.state.flags,
        "groups": parsed.state.groups - 1,
        "groupindex": groupindex,
        "indexgroup": indexgroup,
        "code": code,
    }
    return _build(pattern, program, sre), program


def _build(pattern: str, program: dict[str, Any], sre: Any) -> re.Pattern[str]:
    pattern_object: re.Pattern[str] = sre.compile(
        pattern,
        program["flags"],
        program["code"],
        program["groups"],
        program["groupindex"],
        tuple(program["indexgroup"]),
    )
    return pattern_object


def _load(path: Path, pattern: str, engine: Any) -> re.Pattern[str]:
    """The pattern from its cached program (ValueError if the file is damaged; the C engine
    checks the program itself before using it)."""
    header, _, body = path.read_bytes().partition(b"\n")
    program = json.loads(header)
    if program.get("sha256") != hashlib.sha256(body).hexdigest():
        raise ValueError("checksum differs")
    code = array.array("I")
    code.frombytes(body)
    program["code"] = code.tolist()
    return _build(pattern, program, engine[2])


def _store(folder: Path, path: Path, program: dict[str, Any]) -> None:
    """Write the program atomically (workers may start together); keep the newest _KEEP."""
    body = array.array("I", program["code"]).tobytes()
    header = {k: v for k, v in program.items() if k != "code"}
    header["sha256"] = hashlib.sha256(body).hexdigest()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(json.dumps(header).encode() + b"\n" + body)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        kept = sorted(folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("regex cache: cannot write %s (%s)", path, exc)
