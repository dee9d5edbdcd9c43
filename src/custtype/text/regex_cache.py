"""Compiled regular expressions kept between runs, as Python keeps bytecode in __pycache__.

A language's cue lexicon is one pattern of 57-88 k characters; Python's regex compiler, written
in Python, takes 0.10-0.27 s on each at every start of the CLI, a batch worker or the server,
where reading its compiled program back takes a few ms. The program (what `re._compiler`
builds; its `compile` is the same in Python 3.11-3.13) is written to a cache folder under a
key made of the pattern, the flags and the interpreter's version, and checksummed. This reads
private parts of `re`: where they differ (checked once per process on a probe pattern), or
with a damaged, foreign or unwritable cache, it falls back to `re.compile`.

Trust is that of __pycache__: a program is read only from a file owned by this user (or
root) that nobody else may write, because the C engine's check of a program is not
complete; a program forged by someone who can write as this user can crash the process.

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
import stat
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger("custtype.cache")

ENV = "CUSTTYPE_CACHE_DIR"
_FORMAT = 2
_KEEP = 24  # programs kept (~0.5 MB each); the oldest written go first
_SUFFIX = ".sre"
_PROBE = r"(?P<w>[a-zа-я]+)\s+(\d{2,4})?(?i:x|y)(?=\W)|^(?!no)\w*?$"


def cache_dir() -> Path | None:
    """Where compiled programs are kept, or None when caching is off."""
    chosen = os.environ.get(ENV)
    if chosen and chosen.strip().lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("custtype")) / "regex"


def compile_cached(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, read from the cache when this Python compiled it before."""
    folder = cache_dir()
    engine = _engine()
    if folder is None or engine is None or type(pattern) is not str or flags & re.DEBUG:
        return re.compile(pattern, flags)
    key = _key(pattern, int(flags))
    path = folder / f"{key}{_SUFFIX}"
    try:
        return _load(path, pattern, key, engine)
    except FileNotFoundError:
        pass
    except Exception as exc:  # any damage: compile instead (re.error cannot arise here)
        log.debug("regex cache: %s unusable (%s); compiling", path, exc)
    try:
        compiled, program = _compile(pattern, int(flags), engine)
    except re.error:
        raise
    except Exception as exc:  # re's insides moved
        log.debug("regex cache: cannot compile through re's insides (%s)", exc)
        return re.compile(pattern, flags)
    _store(folder, path, key, program)
    return compiled


@lru_cache(maxsize=1)
def _engine() -> Any:
    """re's private parser, code generator and C engine, if this Python has them and they
    compile a probe pattern exactly as `re.compile` does (patterns compare by program)."""
    try:
        engine = (
            importlib.import_module("re._parser"),
            importlib.import_module("re._compiler"),
            importlib.import_module("_sre"),
        )
        if array.array("I").itemsize != engine[2].CODESIZE:
            return None
        for flags in (0, re.IGNORECASE | re.MULTILINE):
            if _compile(_PROBE, flags, engine)[0] != re.compile(_PROBE, flags):
                return None
    except Exception:
        return None
    return engine


def _key(pattern: str, flags: int) -> str:
    seed = f"{_FORMAT}\0{sys.version}\0{sys.byteorder}\0{flags}\0{pattern}"
    return hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _compile(pattern: str, flags: int, engine: Any) -> tuple[re.Pattern[str], dict[str, Any]]:
    """What re._compiler.compile does, keeping the program it builds."""
    parser, compiler, _ = engine
    parsed = parser.parse(pattern, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    program = {
        "flags": flags | parsed.state.flags,
        "groups": parsed.state.groups - 1,
        "groupindex": groupindex,
        "indexgroup": indexgroup,
        "code": compiler._code(parsed, flags),
    }
    return _build(pattern, program, engine), program


def _build(pattern: str, program: dict[str, Any], engine: Any) -> re.Pattern[str]:
    pattern_object: re.Pattern[str] = engine[2].compile(
        pattern,
        program["flags"],
        program["code"],
        program["groups"],
        program["groupindex"],
        tuple(program["indexgroup"]),
    )
    return pattern_object


def _checksum(header: dict[str, Any], body: bytes) -> str:
    fields = {k: v for k, v in header.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode() + b"\n" + body).hexdigest()


def trusted(info: os.stat_result) -> bool:
    """A cache file may be read: owned by this user or root, writable by nobody else."""
    if not hasattr(os, "geteuid"):  # Windows: the folder's ACL is the user's
        return True
    return info.st_uid in (os.geteuid(), 0) and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _load(path: Path, pattern: str, key: str, engine: Any) -> re.Pattern[str]:
    """The pattern from its cached program (ValueError if the file is foreign or damaged)."""
    with path.open("rb") as fh:
        if not trusted(os.fstat(fh.fileno())):
            raise ValueError("file owned or writable by another user")
        data = fh.read()
    line, _, body = data.partition(b"\n")
    header = json.loads(line)
    if not isinstance(header, dict) or header.get("key") != key:
        raise ValueError("not this pattern's program")
    if header.get("sha256") != _checksum(header, body):
        raise ValueError("checksum differs")
    groups, index, names = header["groups"], header["indexgroup"], header["groupindex"]
    if not (isinstance(groups, int) and isinstance(index, list) and groups == len(index) - 1):
        raise ValueError("groups do not fit")
    if not isinstance(names, dict) or any(index[i] != n for n, i in names.items()):
        raise ValueError("group names do not fit")
    code = array.array("I")
    code.frombytes(body)
    return _build(pattern, {**header, "code": code.tolist()}, engine)


def _store(folder: Path, path: Path, key: str, program: dict[str, Any]) -> None:
    """Write the program atomically (workers may start together), readable by all (it holds
    the shipped lexicons' patterns, no secret); keep the newest _KEEP."""
    body = array.array("I", program["code"]).tobytes()
    header = {"key": key, **{k: v for k, v in program.items() if k != "code"}}
    header["sha256"] = _checksum(header, body)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(json.dumps(header).encode() + b"\n" + body)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        kept = sorted(folder.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        abandoned = [t for t in folder.glob("*.tmp") if time.time() - t.stat().st_mtime > 600]
        for old in kept[_KEEP:] + abandoned:  # (a .tmp 10 minutes old: its writer died)
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("regex cache: cannot write %s (%s)", path, exc)
