"""A message as the model reads it: normalised text, language, tokens with lemmas, cues."""

from __future__ import annotations

from dataclasses import dataclass

from custtype.text.cues import Cue, find_cues
from custtype.text.language import SUPPORTED, detect_language
from custtype.text.normalize import Normalized, normalize
from custtype.text.quotes import strip_quoted
from custtype.text.tokens import Tokens, tokenize_chunks


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the model reads from one message."""

    normalized: Normalized
    lang: str
    chunks: Tokens
    cues: list[Cue]

    @property
    def supported(self) -> bool:
        return self.lang in SUPPORTED


def analyze(text: str, lang: str | None = None) -> Analysis:
    """Leave out quoted text and signatures, normalise, identify the language (unless
    given), tokenise, lemmatise and find cues. Offsets stay those of `text`."""
    norm = normalize(strip_quoted(text).text)
    code = lang or detect_language(norm.text)
    if code not in SUPPORTED:
        return Analysis(norm, code, Tokens([], []), [])
    return Analysis(norm, code, tokenize_chunks(norm.text, code), find_cues(norm.text, code))
