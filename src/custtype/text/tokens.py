"""Tokens and lemmas: spaCy blank tokenizers, pymorphy3 (ru) and simplemma (pl, en).

spaCy splits text at whitespace and tokenises each piece between on its own (prefix, suffix
and infix rules never cross whitespace), so the tokens of a chunk, with their lemmas, are
cached per (language, chunk): a chunk seen before costs one dict lookup instead of spaCy's
Doc and Token objects and a lemmatiser call. The only rules that span a space (Russian
abbreviations such as "и т.д.") send their text through spaCy whole; where a special case
could match across a space (spaCy's special-case matcher works on token sequences: a match of
":((" over "broke:( (again)" is dropped but still stops ":(" from being merged), the run of
pieces around that space goes through spaCy together, so the tokens are exactly spaCy's.
Caches are bounded, and the spaCy vocabulary is renewed when it grows large, so memory stays
flat on endless streams.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, NamedTuple, cast

_CACHE_LIMIT = 400_000
_VOCAB_LIMIT = 500_000  # spaCy lexemes kept before the tokenizer is rebuilt


class Token(NamedTuple):
    """One token of the normalised text: lower-cased form, lemma and character span."""

    lower: str
    lemma: str
    start: int
    end: int
    is_word: bool


@lru_cache(maxsize=8)
def _tokenizer(lang: str) -> Any:
    """spaCy's rule-based tokenizer for `lang`. A new word's lexeme gets only the attributes
    read here (lower case, is-space): computing the other ~20 (shape, stop word, like_num…)
    took ~40% of the time spaCy spends on new text. Tokens do not depend on them."""
    import spacy
    from spacy.attrs import IS_SPACE, LOWER

    nlp = spacy.blank(lang)
    vocab: Any = nlp.vocab  # (lex_attr_getters is a Cython attribute the stubs omit)
    getters = vocab.lex_attr_getters
    vocab.lex_attr_getters = {k: getters[k] for k in (LOWER, IS_SPACE) if k in getters}
    return nlp.tokenizer


@lru_cache(maxsize=8)
def _spanning_rules(lang: str) -> re.Pattern[str] | None:
    """Finds any tokenizer exception that contains a space (spaCy matches them across
    chunks) in a text. Built as a character trie, so each position tries one branch per
    distinct first letter instead of all ~90 Russian rules (~33 → ~8 µs a Russian text)."""
    rules = [k for k in _tokenizer(lang).rules if " " in k.strip()]
    return re.compile(_trie_pattern(rules)) if rules else None


def _trie_pattern(words: list[str]) -> str:
    """A regex matching where any of `words` occurs (a word that extends another is left
    out: the shorter one already matches there)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        if "" in node:
            return ""
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return pattern(trie)


class _Straddle(NamedTuple):
    """What a special-case match across a space would look like, lower-cased."""

    lefts: frozenset[str]  # tokens that can end a piece before a straddling match
    rights: frozenset[str]  # tokens that can start a piece after one
    # adjacent pair → each pattern holding it, with the position of the pair's second token
    at_pair: dict[tuple[str, str], tuple[tuple[tuple[str, ...], int], ...]]
    splits: dict[str, tuple[tuple[str, ...], ...]]  # special case → its patterns
    longest: int  # tokens in the longest pattern


@lru_cache(maxsize=8)
def _straddle(lang: str) -> _Straddle:
    """spaCy's special-case matcher runs over the affix-split tokens of the whole text (each
    case's pattern is its key as the affix rules split it), so a case can match across a
    space only where one of its patterns fits the tokens around it; a piece's edge token may
    itself be a case the matcher merged, e.g. ":(". Cases whose keys differ only in letter
    case can split differently ("O.O", "o.o"): every one of their patterns counts."""
    from spacy.tokenizer import Tokenizer

    tok = _tokenizer(lang)
    bare: Any = Tokenizer(  # the same affix rules without special cases (a second blank
        tok.vocab,  # pipeline cost ~0.1 s a language at start-up)
        rules={},
        prefix_search=tok.prefix_search,
        suffix_search=tok.suffix_search,
        infix_finditer=tok.infix_finditer,
        token_match=tok.token_match,
        url_match=tok.url_match,
        faster_heuristics=tok.faster_heuristics,
    )
    rules = [key for key in _tokenizer(lang).rules if " " not in key]  # (spanning: see above)
    patterns = {key: tuple(t.lower_ for t in bare(key) if not t.is_space) for key in rules}
    patterns = {key: toks for key, toks in patterns.items() if toks}  # (whitespace-only keys)
    at_pair: dict[tuple[str, str], set[tuple[tuple[str, ...], int]]] = {}
    splits: dict[str, set[tuple[str, ...]]] = {}
    for key, toks in patterns.items():
        splits.setdefault(key.lower(), set()).add(toks)
        for k in range(1, len(toks)):
            at_pair.setdefault((toks[k - 1], toks[k]), set()).add((toks, k))
    lefts = {a for a, _ in at_pair}
    rights = {b for _, b in at_pair}
    edges = [(key.lower(), toks) for key, toks in patterns.items()]
    return _Straddle(
        frozenset(lefts | {key for key, toks in edges if toks[-1] in lefts}),
        frozenset(rights | {key for key, toks in edges if toks[0] in rights}),
        {pair: tuple(sorted(found)) for pair, found in at_pair.items()},
        {key: tuple(sorted(found)) for key, found in splits.items()},
        max(map(len, patterns.values()), default=1),
    )


def _readings(s: _Straddle, token: str) -> tuple[tuple[str, ...], ...]:
    """What a token may have been when the matcher ran: itself or, if it is a special case,
    any of its patterns' token sequences (a case merged by the matcher)."""
    return ((token,), *s.splits.get(token, ()))


def _fits(
    s: _Straddle, want: tuple[str, ...], here: tuple[str, ...], rest: Iterator[str], step: int
) -> bool:
    """Whether tokens `want` can be read from `here` (one reading of the nearest token,
    in walking order) and then from the tokens `rest` yields, walking away from the space
    (`step` 1: rightwards, -1: leftwards, so readings are reversed); the far end may stop
    inside a reading (a pattern can start or end at any token of a merged case)."""
    if want[: len(here)] != here[: len(want)]:
        return False
    if len(want) <= len(here):
        return True
    token = next(rest, None)
    if token is None:
        return False
    later = list(rest)  # each reading walks on over the same tokens
    return any(
        _fits(s, want[len(here) :], reading[::step], iter(later), step)
        for reading in _readings(s, token)
    )


def _straddles(s: _Straddle, chunks: list[Chunk], i: int, j: int) -> bool:
    """Whether a special-case pattern can match across the space between chunk i's last
    token and chunk j's first (the next chunk holding one), each token read as itself or
    as a merged case's pattern (lower-cased: a superset of spaCy's case-sensitive
    matches)."""
    for left in _readings(s, chunks[i].forms[-1]):
        for right in _readings(s, chunks[j].forms[0]):
            for pattern, k in s.at_pair.get((left[-1], right[0]), ()):
                after = _walk(chunks, j, 1, s.longest)
                before = _walk(chunks, i, -1, s.longest)
                next(after), next(before)  # the edge tokens, read above
                if _fits(s, pattern[k:], right, after, 1) and _fits(
                    s, pattern[:k][::-1], left[::-1], before, -1
                ):
                    return True
    return False


def _walk(chunks: list[Chunk], start: int, step: int, count: int) -> Iterator[str]:
    """Up to `count` token forms from chunk `start` on, walking in `step` direction."""
    stop = len(chunks) if step > 0 else -1
    forms = (form for c in range(start, stop, step) for form in chunks[c].forms[::step])
    return itertools.islice(forms, count)


_SEP = " \n "  # joins new pieces for one spaCy call; the newline token breaks any sequence


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru", result_type=None)  # tuples: no namedtuple each


_info_cache: dict[str, dict[str, tuple[str, bool]]] = {}
_lock = threading.Lock()


_tables: dict[str, Mapping[str, str]] = {}


def use_lemma_tables(tables: Mapping[str, Mapping[str, str]]) -> None:
    """Lemmatise these languages by looking words up in a table instead of with simplemma.

    simplemma decodes a whole language's dictionary (3.7 M Polish forms, 3-7 s) on its first
    word; a model ships the part it needs (built by `custtype train`), so the first Polish
    message costs no more than a Russian one. A word not in the table is its own lemma, as
    simplemma returns it. Caches of a language whose table changes are emptied.
    """
    for lang in set(_tables) | set(tables):
        new = tables.get(lang)
        if _tables.get(lang) is not new:
            with _lock:
                if new is None:
                    _tables.pop(lang, None)
                else:
                    _tables[lang] = new
                _info_cache.pop(lang, None)
                _chunk_cache.pop(lang, None)


def _lemmatize_uncached(word: str, lang: str) -> str:
    if not any(ch.isalpha() for ch in word):
        return word
    if lang == "ru":
        if any("\u0400" <= ch <= "\u04ff" for ch in word):
            return str(_morph().parse(word)[0][2]).replace("ё", "е")  # the best normal form
        return word
    table = _tables.get(lang)
    if table is not None:
        return table.get(word, word)
    return simplemma_lemma(word, lang)


def simplemma_lemma(word: str, lang: str) -> str:
    """simplemma's lemma of a lower-cased word, lower-cased."""
    import simplemma

    return str(simplemma.lemmatize(word, lang=lang)).lower()


def is_word_form(form: str) -> bool:
    """A token is a word (gets character n-grams, can start a phrase) if it has a letter or
    digit."""
    return any(ch.isalnum() for ch in form)


def _info(word: str, lang: str) -> tuple[str, bool]:
    """(lemma, is_word) of a lower-cased token, computed once per language and word."""
    cache = _info_cache.get(lang)
    if cache is None:
        cache = _info_cache.setdefault(lang, {})
    found = cache.get(word)
    if found is None:
        is_word = is_word_form(word)
        found = (_lemmatize_uncached(word, lang) if is_word else word, is_word)
        with _lock:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[word] = found
    return found


def lemma(word: str, lang: str) -> str:
    """Lemma of a lower-cased word in ru/pl/en (cached)."""
    return _info(word, lang)[0]


_Part = tuple[str, str, int, bool]  # lower, lemma, offset in its chunk, is_word


class Chunk(NamedTuple):
    """The tokens of one space-free piece of text (cached): what scoring reads directly."""

    lemmas: tuple[str, ...]  # of every token, in order (lemma n-grams)
    forms: tuple[str, ...]  # lower-cased form of every token, in order
    starts: tuple[int, ...]  # offsets in the piece of every token
    ends: tuple[int, ...]
    is_word: tuple[bool, ...]
    opens: bool  # its last token may begin a special case across the following space
    closes: bool  # its first token may end a special case across the preceding space


# the "piece" between two consecutive spaces
_EMPTY = Chunk((), (), (), (), (), False, False)
_LEMMAS = operator.itemgetter(0)  # Chunk.lemmas, read in C
_FORMS = operator.itemgetter(1)  # Chunk.forms, read in C
_OPENS = operator.itemgetter(5)  # Chunk.opens
_flat = itertools.chain.from_iterable


class Layout(NamedTuple):
    """Per token of a text, in order: start and end offsets, and whether it is a word."""

    starts: list[int]
    ends: list[int]
    is_word: list[bool]


def _offsets(pieces: list[str]) -> list[int]:
    """Where each piece starts in its text (one separator after each), and one more."""
    return list(itertools.accumulate((len(p) + 1 for p in pieces), initial=0))


class Tokens(NamedTuple):
    """A text's tokens kept as its pieces (between spaces and line breaks) and their Chunks,
    so scoring builds no per-token objects; `items()` gives Token objects with character
    spans when they are needed (evidence)."""

    pieces: list[str]
    chunks: list[Chunk]  # one per piece

    def lemmas(self) -> list[str]:
        return list(_flat(map(_LEMMAS, self.chunks)))  # half the time of a comprehension

    def forms(self) -> list[str]:
        return list(_flat(map(_FORMS, self.chunks)))

    def words(self) -> list[str]:
        """The lower-cased forms of the word tokens (what gets character n-grams)."""
        return [
            form
            for chunk in self.chunks
            for form, is_word in zip(chunk.forms, chunk.is_word, strict=True)
            if is_word
        ]

    def layout(self) -> Layout:
        """Start and end offsets and word flags of every token, without Token objects."""
        bases = _offsets(self.pieces)
        pairs = list(zip(bases, self.chunks, strict=False))  # bases has one more
        return Layout(
            [base + start for base, chunk in pairs for start in chunk.starts],
            [base + end for base, chunk in pairs for end in chunk.ends],
            [flag for chunk in self.chunks for flag in chunk.is_word],
        )

    def items(self) -> list[Token]:
        starts, ends, is_word = self.layout()
        return list(map(Token, self.forms(), self.lemmas(), starts, ends, is_word))

    def locate(self) -> Locator:
        """Offsets of single tokens on demand, for readers of a few tokens (evidence)."""
        return Locator(self)


class Locator:
    """Where a text's tokens lie, found per token by bisection over its pieces instead of
    building every token's offsets (`Tokens.layout`)."""

    __slots__ = ("_bases", "_chunks", "_firsts")

    def __init__(self, tokens: Tokens) -> None:
        self._chunks = tokens.chunks
        # per piece: its first token's number and its offset
        self._firsts = list(itertools.accumulate(map(len, map(_FORMS, tokens.chunks)), initial=0))
        self._bases = _offsets(tokens.pieces)

    def _find(self, i: int) -> tuple[Chunk, int, int]:
        """Token i's chunk, its index there and the chunk's offset (the last piece whose
        first token is at most i: pieces without tokens share the next one's number)."""
        k = bisect.bisect_right(self._firsts, i) - 1
        return self._chunks[k], i - self._firsts[k], self._bases[k]

    def start(self, i: int) -> int:
        chunk, j, base = self._find(i)
        return base + chunk.starts[j]

    def end(self, i: int) -> int:
        chunk, j, base = self._find(i)
        return base + chunk.ends[j]

    def is_word(self, i: int) -> bool:
        chunk, j, _ = self._find(i)
        return chunk.is_word[j]

    def overlapping(self, start: int, end: int) -> range:
        """The tokens that overlap characters [start, end): those ending after `start`
        up to the first starting at or after `end` (tokens are ordered and disjoint)."""
        k = bisect.bisect_right(self._bases, start) - 1
        first = self._firsts[k] + bisect.bisect_right(self._chunks[k].ends, start - self._bases[k])
        k = bisect.bisect_right(self._bases, end) - 1
        stop = self._firsts[k] + bisect.bisect_left(self._chunks[k].starts, end - self._bases[k])
        return range(first, stop)


_chunk_cache: dict[str, dict[str, Chunk]] = {}


def _chunk(parts: tuple[_Part, ...], lang: str) -> Chunk:
    if not parts:
        return _EMPTY
    s = _straddle(lang)
    forms, lemmas, starts, is_word = zip(*parts, strict=True)
    return Chunk(
        lemmas,
        forms,
        starts,
        tuple(map(operator.add, starts, map(len, forms))),
        is_word,
        forms[-1] in s.lefts,
        forms[0] in s.rights,
    )


def _spacy_parts(text: str, lang: str) -> tuple[_Part, ...]:
    tokenizer = _tokenizer(lang)
    if len(tokenizer.vocab) > _VOCAB_LIMIT:  # a stream of new words must not grow it forever
        _tokenizer.cache_clear()
        tokenizer = _tokenizer(lang)
    out = []
    for tok in tokenizer(text):
        if not tok.is_space:
            lower = tok.lower_
            lem, is_word = _info(lower, lang)
            out.append((lower, lem, tok.idx, is_word))
    return tuple(out)


@lru_cache(maxsize=8)
def _special_cases(lang: str) -> frozenset[str]:
    return frozenset(_tokenizer(lang).rules)


_MARKS = frozenset(",!?:;")  # split off after any letter by every language's suffix rules


@lru_cache(maxsize=4096)
def _splits_full_stop(lang: str, letter: str) -> bool:
    """Whether the language's suffix rules split a full stop off after this letter (only
    after the letters they list: "жоқ." and "A." stay whole)."""
    found = _tokenizer(lang).suffix_search(f"{letter}.")
    return found is not None and found.group() == "."


def _word_and_mark(piece: str, lang: str, special: frozenset[str]) -> bool:
    """Whether spaCy makes exactly (word, mark) of the commonest new piece, "word,": letters,
    then a mark the suffix rules split off after the last one; neither the piece nor the
    word may be a special case (e.g. "cannot" is two tokens)."""
    if len(piece) < 2 or piece in special:
        return False
    word, mark = piece[:-1], piece[-1]
    if mark not in _MARKS and not (mark == "." and _splits_full_stop(lang, word[-1])):
        return False
    return word.isalpha() and word not in special


def _adjacent_parts(tokens: list[str], lang: str) -> tuple[_Part, ...]:
    """(lower, lemma, offset, is_word) of tokens that follow each other without a space."""
    parts = []
    start = 0
    for tok in tokens:
        lower = tok.lower()
        lem, is_word = _info(lower, lang)
        parts.append((lower, lem, start, is_word))
        start += len(tok)
    return tuple(parts)


def _learn_chunks(pieces: list[str], lang: str) -> None:
    """Tokenise new space-free pieces with one spaCy call (a call costs ~20 µs of overhead,
    so a message with a dozen new pieces must not make a dozen) and cache them.

    A piece of letters only that is not a special case is one token whatever spaCy's
    prefix, suffix and infix rules (none splits between two letters), so it skips spaCy; so
    does such a word followed by one mark that spaCy splits off after it (two tokens).
    """
    special = _special_cases(lang)
    learnt: dict[str, Chunk] = {}
    rest: list[str] = []
    for piece in pieces:
        if not piece:
            learnt[piece] = _EMPTY
        elif piece.isalpha() and piece not in special:
            learnt[piece] = _chunk(_adjacent_parts([piece], lang), lang)
        elif _word_and_mark(piece, lang, special):
            learnt[piece] = _chunk(_adjacent_parts([piece[:-1], piece[-1]], lang), lang)
        else:
            rest.append(piece)
    if rest:
        found: list[list[_Part]] = [[] for _ in rest]
        k, start, end = 0, 0, len(rest[0])
        for lower, lem, idx, is_word in _spacy_parts(_SEP.join(rest), lang):
            while idx >= end:  # tokens never cross a space, so each lies in one piece
                start = end + len(_SEP)
                k += 1
                end = start + len(rest[k])
            found[k].append((lower, lem, idx - start, is_word))
        learnt.update((piece, _chunk(tuple(f), lang)) for piece, f in zip(rest, found, strict=True))
    cache = _chunk_cache.setdefault(lang, {})
    with _lock:
        if len(cache) + len(learnt) >= _CACHE_LIMIT:
            cache.clear()
        cache.update(learnt)


def tokenize_chunks(text: str, lang: str) -> Tokens:
    """Tokens of a normalised text with lemmas; `lang` must be ru, pl or en."""
    spanning = _spanning_rules(lang)
    if spanning is not None and spanning.search(text):
        return _whole(text, lang)
    cache = _chunk_cache.get(lang) or _chunk_cache.setdefault(lang, {})
    # spaCy splits at any whitespace, so a line break separates pieces as a space does (the
    # pieces keep their offsets: both are one character); str.split beats re.finditer
    pieces = (text.replace("\n", " ") if "\n" in text else text).split(" ")
    get = cache.get
    found = list(map(get, pieces))
    if None in found:
        _learn_chunks([p for p in dict.fromkeys(pieces) if p not in cache], lang)
        # (a learnt piece is missing again only if a thread emptied the bounded cache)
        found = [get(piece) or _piece(piece, lang) for piece in pieces]
    chunks = cast(list[Chunk], found)
    for i in itertools.compress(range(len(chunks)), map(_OPENS, chunks)):  # ~13 a message
        if _risky(_straddle(lang), chunks, i, _next_holding(chunks, i)):
            return _segmented(text, pieces, chunks, i, lang)  # a case may match across it
    return Tokens(pieces, chunks)


def _next_holding(chunks: list[Chunk], i: int) -> int:
    """The first piece after i that holds a token (len(chunks) if none)."""
    j = i + 1
    while j < len(chunks) and not chunks[j].forms:
        j += 1
    return j


def _risky(s: _Straddle, chunks: list[Chunk], i: int, j: int) -> bool:
    """Whether a special case may match across the space(s) between pieces i and j."""
    return j < len(chunks) and chunks[i].opens and chunks[j].closes and _straddles(s, chunks, i, j)


def _segmented(text: str, pieces: list[str], chunks: list[Chunk], first: int, lang: str) -> Tokens:
    """Tokens of a text where special cases may match across some spaces (the first after
    piece `first`): spaCy on each run of pieces joined by such spaces, cached chunks
    elsewhere. No match crosses a space the check rules out, and spaCy's filter only weighs
    overlapping matches against each other, so each run tokenises as in the whole text
    (spaCy on a whole text of ~1,300 characters costs ~550 µs; a run, a few dozen)."""
    s = _straddle(lang)
    bases = _offsets(pieces)
    out_pieces: list[str] = pieces[:first]
    out_chunks: list[Chunk] = chunks[:first]
    i = first
    n = len(chunks)
    while i < n:
        j = _next_holding(chunks, i)
        if not chunks[i].forms or not _risky(s, chunks, i, j):
            out_pieces.append(pieces[i])
            out_chunks.append(chunks[i])
            i += 1
            continue
        end = j  # extend the run while the space after its last piece is risky too
        while (k := _next_holding(chunks, end)) < n and _risky(s, chunks, end, k):
            end = k
        run = text[bases[i] : bases[end] + len(pieces[end])]
        out_pieces.append(run)
        out_chunks.append(_chunk(_spacy_parts(run, lang), lang))
        i = end + 1
    return Tokens(out_pieces, out_chunks)


def _piece(piece: str, lang: str) -> Chunk:
    """The Chunk of one piece, not cached."""
    return _chunk(_spacy_parts(piece, lang), lang) if piece else _EMPTY


def _whole(text: str, lang: str) -> Tokens:
    """spaCy on the whole text, as one chunk (not cached)."""
    return Tokens([text], [_chunk(_spacy_parts(text, lang), lang)])


def tokenize(text: str, lang: str) -> list[Token]:
    """Tokens of a normalised text with lemmas and character spans (ru, pl or en)."""
    return tokenize_chunks(text, lang).items()
