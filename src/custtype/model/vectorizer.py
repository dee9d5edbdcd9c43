"""Model features of analysed messages: TF-IDF over lemma 1-2-grams and per-token character
n-grams, each block L2-normalised.

Plain Python and numpy (no scikit-learn base class, so loading a model does not import
scikit-learn). One piece of speed code earns its place: each distinct word's character
n-gram columns are cached, so a message costs a dict lookup per word instead of building
and looking up ~30 n-gram strings per word (measured in benchmarks/bench_model.py).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from custtype.text.analysis import Analysis
from custtype.text.tokens import is_word_form

_MAX_TOKEN_CHARS = 24
_CACHE_LIMIT = 300_000  # distinct words whose char columns are kept (a stream stays bounded)
_COL = np.dtype(np.int32)  # char columns are cached packed, so a batch's join as bytes


def _char_grams(word: str, lo: int, hi: int) -> list[str]:
    s = f"<{word[:_MAX_TOKEN_CHARS]}>"
    return [s[i : i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1)]


def _lemma_terms(lemmas: Sequence[str]) -> list[str]:
    terms = [f"w:{lem}" for lem in lemmas]
    terms.extend(f"b:{a} {b}" for a, b in itertools.pairwise(lemmas))
    return terms


class Trace(NamedTuple):
    """Where the features of a transformed batch came from, for evidence. Per feature
    (non-zero entry): its row, column, position in the matrix's data and how many token
    slots share it; per slot (a token's share of a feature; a bigram has one in each of its
    two tokens): the feature and the token."""

    row: np.ndarray
    col: np.ndarray
    at: np.ndarray
    sharers: np.ndarray  # slots that share the feature
    slot_key: np.ndarray  # the slot's feature (index into the arrays above)
    owner: np.ndarray  # the slot's token, numbered across the batch
    token_start: np.ndarray  # each message's first token number (and the total at the end)


class MessageVectorizer:
    """TF-IDF (sublinear tf, smoothed idf) over lemma 1-2-grams and per-token char n-grams."""

    def __init__(
        self,
        char_range: tuple[int, int] = (3, 5),
        min_df: int = 2,
        lemma_weight: float = 1.0,
        char_weight: float = 1.0,
    ) -> None:
        self.char_range = char_range
        self.min_df = min_df
        self.lemma_weight = lemma_weight
        self.char_weight = char_weight

    # -- fitting -----------------------------------------------------------------
    def fit(self, analyses: Sequence[Analysis]) -> MessageVectorizer:
        lo, hi = self.char_range
        lemma_df: dict[str, int] = {}
        char_df: dict[str, int] = {}
        for a in analyses:
            for term in set(_lemma_terms(a.chunks.lemmas())):
                lemma_df[term] = lemma_df.get(term, 0) + 1
            for g in {g for word in a.chunks.words() for g in _char_grams(word, lo, hi)}:
                char_df[g] = char_df.get(g, 0) + 1
        n = len(analyses)
        terms = sorted(k for k, v in lemma_df.items() if v >= self.min_df)
        grams = sorted(k for k, v in char_df.items() if v >= self.min_df)
        idf_terms = np.asarray([_idf(n, lemma_df[t]) for t in terms])
        self._set_vocab(terms, grams, idf_terms, np.asarray([_idf(n, char_df[g]) for g in grams]))
        self.n_docs_ = n
        return self

    def _set_vocab(
        self,
        lemma_terms: Sequence[str],
        char_grams: Sequence[str],
        lemma_idf: np.ndarray,
        char_idf: np.ndarray,
    ) -> None:
        if len(lemma_idf) != len(lemma_terms) or len(char_idf) != len(char_grams):
            raise ValueError("vocabulary and idf sizes differ")
        self.lemma_vocab_ = dict(zip(lemma_terms, range(len(lemma_terms)), strict=True))
        self.char_vocab_ = dict(zip(char_grams, range(len(char_grams)), strict=True))
        self.lemma_idf_ = np.asarray(lemma_idf, dtype=np.float64)
        self.char_idf_ = np.asarray(char_idf, dtype=np.float64)
        self._idf = np.concatenate([self.lemma_idf_, self.char_idf_])
        # unigram and bigram columns keyed by lemma and (lemma, lemma): no "w:"/"b:" strings
        # to build per token
        self._unigram = {t[2:]: i for t, i in self.lemma_vocab_.items() if t.startswith("w:")}
        self._bigram: dict[tuple[str, str], int] = {}
        for term, i in self.lemma_vocab_.items():
            if term.startswith("b:"):
                words = term[2:].split(" ")
                if len(words) == 2:  # nearly all: 0.1 s less of each model load than the loop
                    self._bigram[(words[0], words[1])] = i
                    continue
                for k in range(1, len(words)):  # "b:a b c" is both (a, "b c") and ("a b", c)
                    self._bigram[(" ".join(words[:k]), " ".join(words[k:]))] = i
        self._char_cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    _CONFIG = ("char_range", "min_df", "lemma_weight", "char_weight", "n_docs_")

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What a model file stores: settings and vocabularies (JSON) and idf vectors (arrays).
        Vocabularies are sorted, so a term's column is its position in the list."""
        config = {name: getattr(self, name) for name in self._CONFIG}
        config["char_range"] = list(self.char_range)
        config["lemma_vocab"] = list(self.lemma_vocab_)
        config["char_vocab"] = list(self.char_vocab_)
        return config, {"lemma_idf": self.lemma_idf_, "char_idf": self.char_idf_}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> MessageVectorizer:
        """The vectoriser `to_state` described; raises ValueError if the parts do not fit."""
        lo, hi = config["char_range"]
        vec = cls(
            (int(lo), int(hi)),
            int(config["min_df"]),
            float(config["lemma_weight"]),
            float(config["char_weight"]),
        )
        vec.n_docs_ = int(config["n_docs_"])
        vec._set_vocab(
            [str(t) for t in config["lemma_vocab"]],
            [str(g) for g in config["char_vocab"]],
            arrays["lemma_idf"],
            arrays["char_idf"],
        )
        return vec

    # -- transforming --------------------------------------------------------------
    @property
    def n_lemma(self) -> int:
        return len(self.lemma_vocab_)

    @property
    def n_char(self) -> int:
        return len(self.char_vocab_)

    @property
    def n_features(self) -> int:
        return self.n_lemma + self.n_char

    def char_columns(self, form: str) -> bytes:
        """Matrix columns of a token's known char n-grams as packed int32 (none for a token
        that is not a word), cached per form; the char block follows the lemma block."""
        found = self._char_cache.get(form)
        if found is None:
            vocab, (lo, hi), offset = self.char_vocab_, self.char_range, self.n_lemma
            cols = [vocab[g] + offset for g in _char_grams(form, lo, hi) if g in vocab]
            found = np.asarray(cols if is_word_form(form) else [], dtype=_COL).tobytes()
            with self._lock:
                if len(self._char_cache) >= _CACHE_LIMIT:
                    self._char_cache.clear()
                self._char_cache[form] = found
        return found

    def transform(self, analyses: Iterable[Analysis]) -> sp.csr_matrix:
        """Rows of [lemma TF-IDF | char TF-IDF], each block L2-normalised."""
        return self.transform_traced(analyses, trace=False)[0]

    def transform_traced(
        self, analyses: Iterable[Analysis], trace: bool = True
    ) -> tuple[sp.csr_matrix, Trace | None]:
        """The feature rows and, if `trace`, which tokens each feature came from."""
        docs = list(analyses)
        n_docs, n_lemma = len(docs), self.n_lemma
        unknown = itertools.repeat(-1)
        uni: list[int] = []  # per token: its unigram column, or -1
        bi: list[int] = []  # per pair of adjacent tokens within a message: its bigram column
        char_parts: list[bytes] = []  # per token: its char columns, packed
        cached, columns = self._char_cache.get, self.char_columns
        sizes = []
        for a in docs:
            lemmas = a.chunks.lemmas()
            uni += map(self._unigram.get, lemmas, unknown)
            bi += map(self._bigram.get, itertools.pairwise(lemmas), unknown)
            char_parts += [
                c if (c := cached(f)) is not None else columns(f) for f in a.chunks.forms()
            ]
            sizes.append(len(lemmas))

        n_tokens = np.asarray(sizes, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(n_tokens)])
        token_row = np.repeat(np.arange(n_docs, dtype=np.int64), n_tokens)
        has_next = np.ones(len(uni), dtype=bool)  # a pair starts at every token but the last
        has_next[starts[1:][n_tokens > 0] - 1] = False
        uni_col = np.asarray(uni, dtype=np.int64)
        bi_col = np.asarray(bi, dtype=np.int64)
        u_owner = np.flatnonzero(uni_col >= 0)
        b_at = np.flatnonzero(bi_col >= 0)
        b_owner = np.flatnonzero(has_next)[b_at]  # a bigram's first token
        char_bytes = np.fromiter(map(len, char_parts), dtype=np.int64, count=len(char_parts))
        c_owner = np.repeat(np.arange(len(char_parts), dtype=np.int64), char_bytes // _COL.itemsize)
        c_col = np.frombuffer(b"".join(char_parts), dtype=_COL).astype(np.int64)
        owner = np.concatenate([u_owner, b_owner, c_owner])
        row = token_row[owner]
        col = np.concatenate([uni_col[u_owner], bi_col[b_at], c_col])

        n_cols = self.n_features
        keys, inverse, counts = np.unique(
            row * n_cols + col, return_inverse=True, return_counts=True
        )
        f_row, f_col = np.divmod(keys, n_cols)
        data = (1.0 + np.log(counts)) * self._idf[f_col]
        is_char = f_col >= n_lemma
        block = f_row * 2 + is_char
        norms = np.sqrt(np.bincount(block, weights=data * data, minlength=2 * n_docs))
        norms[norms == 0] = 1.0
        data *= np.where(is_char, self.char_weight, self.lemma_weight) / norms[block]
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(f_row, minlength=n_docs), out=indptr[1:])
        x = sp.csr_matrix((data, f_col, indptr), shape=(n_docs, n_cols))
        if not trace:
            return x, None
        # a bigram's feature is shared by its two tokens: one more slot for the second
        second = np.arange(len(u_owner), len(u_owner) + len(b_owner))
        slot_key = np.concatenate([inverse, inverse[second]])
        slot_owner = np.concatenate([owner, b_owner + 1])
        sharers = np.bincount(slot_key, minlength=len(keys))
        at = np.arange(len(keys), dtype=np.int64)  # the matrix keeps the keys' order
        return x, Trace(f_row, f_col, at, sharers, slot_key, slot_owner, starts)


def _idf(n_docs: int, df: int) -> float:
    """Smoothed inverse document frequency, as scikit-learn's TfidfVectorizer computes it."""
    return math.log((1 + n_docs) / (1 + df)) + 1.0
