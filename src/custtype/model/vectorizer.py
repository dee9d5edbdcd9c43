"""Model features of analysed messages: TF-IDF over lemma 1-2-grams and per-token character
n-grams, plus cue and style features.

The vectoriser caches, per distinct token, the column indices of its character n-grams, so
transforming a message costs a few dict lookups per token instead of counting thousands of
n-gram strings (what makes scikit-learn's char TF-IDF slow on real-length messages).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

import numpy as np
import scipy.sparse as sp

from custtype.model.chargrams import GramIndex, find_sorted
from custtype.text.analysis import Analysis
from custtype.text.cues import CATEGORIES
from custtype.text.language import SUPPORTED
from custtype.text.tokens import is_word_form

_MAX_TOKEN_CHARS = 24
_CACHE_LIMIT = 300_000
_COL_BYTES = np.dtype(np.int32).itemsize  # char columns are cached packed as int32
# from this many new words on, a batch's char columns are looked up with numpy at once
# (a fixed ~40 µs, then ~3 µs a word, against ~12 µs a word one by one)
_VECTOR_FROM = 6


def _char_grams(word: str, lo: int, hi: int) -> list[str]:
    s = f"<{word[:_MAX_TOKEN_CHARS]}>"
    return [s[i : i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1)]


def _lemma_terms(lemmas: Sequence[str]) -> list[str]:
    terms = [f"w:{lem}" for lem in lemmas]
    terms.extend(f"b:{a} {b}" for a, b in itertools.pairwise(lemmas))
    return terms


DENSE_NAMES: tuple[str, ...] = (
    *(f"cue:{c}" for c in CATEGORIES),
    "sty:exclaim",
    "sty:question",
    "sty:multi_punct",
    "sty:caps",
    "sty:emoji",
    *(f"lang:{code}" for code in SUPPORTED),
)


def dense_features(a: Analysis) -> list[float]:
    """Cue counts, style signals and language, squashed to comparable small ranges.

    Length is deliberately not a feature: in hand-written data it follows the label (who
    writes long messages) and does not transfer to real traffic, where ordinary messages are
    often long.
    """
    counts = dict.fromkeys(CATEGORIES, 0)
    for cue in a.cues:
        counts[cue.category] += 1
    s = a.normalized.signals
    values = [math.log1p(counts[c]) for c in CATEGORIES]
    values += [
        math.log1p(s.exclamations),
        math.log1p(s.questions),
        math.log1p(s.multi_punct),
        s.caps_ratio,
        math.log1p(s.emoji),
    ]
    values += [1.0 if a.lang == code else 0.0 for code in SUPPORTED]
    return values


class MessageVectorizer:
    """TF-IDF over lemma 1-2-grams and per-token char n-grams, plus dense cue features.

    Each block is L2-normalised and weighted, then the blocks are stacked. Plain Python (no
    scikit-learn base class), so loading a model does not import scikit-learn (~0.8 s).
    """

    def __init__(
        self,
        char_range: tuple[int, int] = (3, 5),
        min_df: int = 2,
        lemma_weight: float = 1.0,
        char_weight: float = 1.0,
        dense_weight: float = 0.3,
    ) -> None:
        self.char_range = char_range
        self.min_df = min_df
        self.lemma_weight = lemma_weight
        self.char_weight = char_weight
        self.dense_weight = dense_weight

    # -- fitting -----------------------------------------------------------------
    def fit(self, analyses: Sequence[Analysis], y: Any = None) -> MessageVectorizer:
        lo, hi = self.char_range
        lemma_df: dict[str, int] = {}
        char_df: dict[str, int] = {}
        gram_cache: dict[str, list[str]] = {}
        for a in analyses:
            for term in set(_lemma_terms(a.chunks.lemmas())):
                lemma_df[term] = lemma_df.get(term, 0) + 1
            grams: set[str] = set()
            for word in a.chunks.words():
                if word not in gram_cache:
                    gram_cache[word] = _char_grams(word, lo, hi)
                grams.update(gram_cache[word])
            for g in grams:
                char_df[g] = char_df.get(g, 0) + 1
        n = len(analyses)
        self.lemma_vocab_ = {
            t: i for i, t in enumerate(sorted(k for k, v in lemma_df.items() if v >= self.min_df))
        }
        self.char_vocab_ = {
            g: i for i, g in enumerate(sorted(k for k, v in char_df.items() if v >= self.min_df))
        }
        self.lemma_idf_ = self._idf(lemma_df, self.lemma_vocab_, n)
        self.char_idf_ = self._idf(char_df, self.char_vocab_, n)
        self.n_docs_ = n
        self._reset_caches()
        return self

    @staticmethod
    def _idf(df: dict[str, int], vocab: dict[str, int], n: int) -> np.ndarray:
        idf = np.empty(len(vocab), dtype=np.float64)
        for term, i in vocab.items():
            idf[i] = math.log((1 + n) / (1 + df[term])) + 1.0
        return idf

    def _reset_caches(self) -> None:
        self._char_cache: dict[str, bytes] = {}
        self._lock = threading.Lock()
        # the lemma vocabulary keyed by lemma and by (lemma, lemma): lookups then hash
        # strings whose hashes are already cached instead of building "w:…"/"b:… …" keys
        self._unigram_cols: dict[str, int] = {}
        self._bigram_cols: dict[tuple[str, str], int] = {}
        # the idf of every sparse column, joined once (per call it copied ~1 MB)
        self._idf_all = (
            np.concatenate([self.lemma_idf_, self.char_idf_])
            if hasattr(self, "char_idf_")
            else None
        )
        # per lemma column and one more (standing for every char column): is it a bigram?
        self._bigram_col = np.zeros(len(getattr(self, "lemma_vocab_", {})) + 1, dtype=bool)
        for term, i in getattr(self, "lemma_vocab_", {}).items():
            if term.startswith("w:"):
                self._unigram_cols[term[2:]] = i
            else:  # every split, as "b:a b c" is both (a, "b c") and ("a b", c)
                self._bigram_col[i] = True
                words = term[2:].split(" ")
                for k in range(1, len(words)):
                    pair = (" ".join(words[:k]), " ".join(words[k:]))
                    self._bigram_cols[pair] = i

        self._gram_index: GramIndex | bool | None = False  # built when first needed (~35 ms)
        self._pair_keys, self._pair_cols = self._bigram_keys()

    def _bigram_keys(self) -> tuple[np.ndarray | None, np.ndarray]:
        """Every bigram column keyed by its two lemmas' unigram columns (a × n + b), sorted:
        a batch's bigrams are then found with one searchsorted over its tokens' unigram
        columns instead of a dict lookup per token pair. Exact when each bigram term joins
        two space-free lemmas that are unigram terms too, which fitting guarantees (a
        document with "a b" has "a" and "b"); otherwise None, and the dict is used."""
        n = len(getattr(self, "lemma_vocab_", {}))
        keys, cols = [], []
        for (a, b), i in self._bigram_cols.items():
            ca, cb = self._unigram_cols.get(a), self._unigram_cols.get(b)
            if ca is None or cb is None or " " in a or " " in b:
                return None, np.empty(0, dtype=np.int64)
            keys.append(ca * n + cb)
            cols.append(i)
        key_arr = np.asarray(keys, dtype=np.int64)
        order = np.argsort(key_arr)
        return key_arr[order], np.asarray(cols, dtype=np.int64)[order]

    def _pair_columns(self, uni: np.ndarray, token_start: np.ndarray) -> np.ndarray:
        """The bigram column (or -1) of each pair of adjacent tokens within a message, in
        order, from the tokens' unigram columns (see `_bigram_keys`)."""
        keys = cast(np.ndarray, self._pair_keys)
        if not len(uni):  # (no tokens at all: the last-token marks below would index -1)
            return np.empty(0, dtype=np.int64)
        has_next = np.ones(len(uni), dtype=bool)
        has_next[token_start[1:] - 1] = False  # a message's last token (none if empty)
        first = np.flatnonzero(has_next)
        a, b = uni[first], uni[first + 1]
        known = np.flatnonzero((a >= 0) & (b >= 0))
        out = np.full(len(first), -1, dtype=np.int64)
        if len(keys):
            k, hit = find_sorted(keys, a[known] * self.n_lemma + b[known])
            out[known] = np.where(hit, self._pair_cols[k], -1)
        return out

    _CONFIG = ("char_range", "min_df", "lemma_weight", "char_weight", "dense_weight", "n_docs_")

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What a model file stores: settings and vocabularies (JSON) and idf vectors (arrays).
        Vocabularies are sorted, so a term's column is its position in the list."""
        config = {name: getattr(self, name) for name in self._CONFIG}
        config["char_range"] = list(self.char_range)
        config["lemma_vocab"] = sorted(self.lemma_vocab_, key=self.lemma_vocab_.__getitem__)
        config["char_vocab"] = sorted(self.char_vocab_, key=self.char_vocab_.__getitem__)
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
            float(config["dense_weight"]),
        )
        vec.n_docs_ = int(config["n_docs_"])
        vec.lemma_vocab_ = {str(t): i for i, t in enumerate(config["lemma_vocab"])}
        vec.char_vocab_ = {str(g): i for i, g in enumerate(config["char_vocab"])}
        vec.lemma_idf_ = np.asarray(arrays["lemma_idf"], dtype=np.float64)
        vec.char_idf_ = np.asarray(arrays["char_idf"], dtype=np.float64)
        if len(vec.lemma_idf_) != len(vec.lemma_vocab_) or len(vec.char_idf_) != len(
            vec.char_vocab_
        ):
            raise ValueError("vocabulary and idf sizes differ")
        vec._reset_caches()
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
        return self.n_lemma + self.n_char + len(DENSE_NAMES)

    def char_columns(self, form: str) -> bytes:
        """Matrix columns of a token's known char n-grams as packed int32, none for a token
        that is not a word (cached; the char block follows the lemma block, so the offset is
        included). Packed, a message's columns join as bytes instead of Python ints."""
        found = self._char_cache.get(form)
        if found is None:
            vocab = self.char_vocab_
            lo, hi = self.char_range
            offset = self.n_lemma
            cols = (
                [i + offset for g in _char_grams(form, lo, hi) if (i := vocab.get(g, -1)) >= 0]
                if is_word_form(form)
                else []
            )
            found = np.asarray(cols, dtype=np.int32).tobytes()
            self._remember({form: found})
        return found

    def _learn_char_columns(self, forms: Iterable[str]) -> None:
        """Cache the char columns of many new tokens: with numpy at once when there are
        enough of them (same columns as `char_columns`, a quarter of the time)."""
        new = list(dict.fromkeys(forms))
        index = self._grams() if len(new) >= _VECTOR_FROM else None
        if index is None:
            for form in new:
                self.char_columns(form)
            return
        words = [f for f in new if is_word_form(f)]
        learnt = dict.fromkeys(new, b"")
        learnt.update(zip(words, index.columns(words), strict=True))
        self._remember(learnt)

    def _grams(self) -> GramIndex | None:
        """The char vocabulary as a `GramIndex`, built on first use (threads racing build
        the same index)."""
        if self._gram_index is False:
            vocab = self.char_vocab_
            self._gram_index = GramIndex.build(
                vocab, self.char_range, _MAX_TOKEN_CHARS, self.n_lemma
            )
        return cast(GramIndex | None, self._gram_index)

    def _remember(self, learnt: dict[str, bytes]) -> None:
        with self._lock:
            if len(self._char_cache) + len(learnt) >= _CACHE_LIMIT:
                self._char_cache.clear()
            self._char_cache.update(learnt)

    def transform(self, analyses: Iterable[Analysis]) -> sp.csr_matrix:
        """Rows of [lemma TF-IDF | char TF-IDF | dense cues], each block L2-normalised."""
        return self.transform_traced(analyses, trace=False)[0]

    def transform_traced(
        self, analyses: Iterable[Analysis], trace: bool = True
    ) -> tuple[sp.csr_matrix, Trace | None]:
        """The feature rows and, if `trace`, which tokens each sparse feature came from.

        Built in one pass without per-block matrices: per message, three C-level lookups per
        token (unigram, bigram, char n-grams); then counts come from one sort of
        (row, column) keys for the whole batch, and the dense columns are placed by index
        arithmetic.
        """
        docs = list(analyses)
        n_docs = len(docs)
        n_lemma, n_sparse = self.n_lemma, self.n_lemma + self.n_char
        n_dense = len(DENSE_NAMES)
        unigrams, bigrams = self._unigram_cols.get, self._bigram_cols.get
        by_dict = self._pair_keys is None  # else bigrams come from unigram columns below
        cached = self._char_cache.get
        uni: list[int] = []  # per token: its unigram column or -1
        bi: list[int] = []  # per adjacent token pair: its bigram column or -1
        chars: list[bytes | None] = []  # per token: its char n-gram columns, packed
        n_tokens: list[int] = []
        missing = itertools.repeat(-1)
        unknown: list[tuple[int, list[str], list[bytes | None]]] = []  # docs with new tokens
        for a in docs:
            lemmas = a.chunks.lemmas()
            forms = a.chunks.forms()
            uni.extend(map(unigrams, lemmas, missing))
            if by_dict:
                bi.extend(map(bigrams, itertools.pairwise(lemmas), missing))
            looked = list(map(cached, forms))
            if None in looked:
                unknown.append((len(chars), forms, looked))
            chars.extend(looked)
            n_tokens.append(len(lemmas))
        if unknown:  # the batch's new tokens, learnt together
            self._learn_char_columns(
                f
                for _, forms, looked in unknown
                for f, c in zip(forms, looked, strict=True)
                if c is None
            )
            for start, forms, _ in unknown:
                again = list(map(cached, forms))
                if None in again:  # (only if a thread emptied the bounded cache meanwhile)
                    again = list(map(self.char_columns, forms))
                chars[start : start + len(forms)] = again
        packed = cast(list[bytes], chars)

        counts_t = np.asarray(n_tokens, dtype=np.int64)
        token_start = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(counts_t, out=token_start[1:])
        token_row = np.repeat(np.arange(n_docs, dtype=np.int64), counts_t)
        uni_all = np.asarray(uni, dtype=np.int64)
        u_owner = np.flatnonzero(uni_all >= 0)
        u_row, u_col = token_row[u_owner], uni_all[u_owner]
        pairs_t = np.maximum(counts_t - 1, 0)
        pair_start = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(pairs_t, out=pair_start[1:])
        bi_all = (
            np.asarray(bi, dtype=np.int64) if by_dict else self._pair_columns(uni_all, token_start)
        )
        b_at = np.flatnonzero(bi_all >= 0)
        b_row = np.repeat(np.arange(n_docs, dtype=np.int64), pairs_t)[b_at]
        b_col = bi_all[b_at]
        b_owner = b_at - pair_start[b_row] + token_start[b_row]  # the pair's first token
        n_chars = np.fromiter(map(len, packed), dtype=np.int64, count=len(packed)) // _COL_BYTES
        c_owner = np.repeat(np.arange(len(packed), dtype=np.int64), n_chars)
        c_row = token_row[c_owner]
        c_col = np.frombuffer(b"".join(packed), dtype=np.int32).astype(np.int64)

        flat = np.concatenate([u_row, b_row, c_row]) * n_sparse
        flat += np.concatenate([u_col, b_col, c_col])
        keys, counts, inverse = _count_keys(flat, inverse=trace)
        rows, col_idx = np.divmod(keys, n_sparse)
        is_char = col_idx >= n_lemma
        data = (1.0 + np.log(counts)) * cast(np.ndarray, self._idf_all)[col_idx]
        block = rows * 2 + is_char
        norms = np.sqrt(np.bincount(block, weights=data * data, minlength=2 * n_docs))
        norms[norms == 0] = 1.0
        weights = np.where(is_char, self.char_weight, self.lemma_weight)
        data *= weights / norms[block]

        nnz_per_row = np.bincount(rows, minlength=n_docs)
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(nnz_per_row + n_dense, out=indptr[1:])
        total = int(indptr[-1])
        out_idx = np.empty(total, dtype=np.int32)
        out_data = np.empty(total, dtype=np.float64)
        sparse_pos = np.arange(len(keys), dtype=np.int64) + rows * n_dense
        out_idx[sparse_pos] = col_idx
        out_data[sparse_pos] = data
        dense_pos = (indptr[:-1] + nnz_per_row)[:, None] + np.arange(n_dense)
        out_idx[dense_pos] = np.arange(n_sparse, n_sparse + n_dense)
        out_data[dense_pos] = (
            np.asarray([dense_features(a) for a in docs], dtype=np.float64).reshape(n_docs, n_dense)
            * self.dense_weight
        )
        x = sp.csr_matrix((out_data, out_idx, indptr), shape=(n_docs, self.n_features))
        if not trace:
            return x, None
        # one slot per (token, feature) in the order each token's share is summed: unigram,
        # bigram with the previous token, bigram with the next, character n-grams
        n_u, n_b = len(u_col), len(b_col)
        slot_key = np.concatenate(
            [inverse[:n_u], np.repeat(inverse[n_u : n_u + n_b], 2), inverse[n_u + n_b :]]
        )
        owner = np.concatenate([u_owner, np.stack([b_owner, b_owner + 1], 1).ravel(), c_owner])
        per_term = np.where(self._bigram_col[np.minimum(col_idx, n_lemma)], 2, 1)
        return x, Trace(
            row=rows,
            col=col_idx,
            at=sparse_pos,
            sharers=counts * per_term,
            slot_key=slot_key,
            owner=owner,
            token_start=token_start,
        )


def _count_keys(flat: np.ndarray, inverse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of an int64 array in order, how often each occurs and, if
    `inverse`, which of them each element is: what np.unique returns, from one plain sort
    (np.unique runs a separate argsort for the inverse; here value and position are packed
    into one int64 and sorted together). Measured in place on 3,000 corpus messages:
    transform 131.5 → 122.0 µs a message with the evidence trace, 117.5 → 115.0 without.
    """
    n = len(flat)
    shift = max(n.bit_length(), 1)
    if not inverse:
        ordered, perm = np.sort(flat), None
    elif n and int(flat.max()) < 1 << (62 - shift) and int(flat.min()) >= 0:
        packed = flat << shift
        packed |= np.arange(n, dtype=np.int64)
        packed.sort()
        ordered, perm = packed >> shift, packed & ((1 << shift) - 1)
    else:
        perm = np.argsort(flat, kind="stable")
        ordered = flat[perm]
    first = np.ones(n, dtype=bool)  # where a new value starts
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(starts, append=n)
    where = np.empty(n if inverse else 0, dtype=np.int64)
    if perm is not None:
        where[perm] = np.cumsum(first) - 1
    return ordered[starts], counts, where


class Trace(NamedTuple):
    """Where the sparse features of a transformed batch came from, for evidence. Per feature
    (non-zero entry): its row, column, position in the matrix's data and how many token
    slots share it; per slot (token, feature), a bigram having one in each of its tokens:
    the feature and the token."""

    row: np.ndarray
    col: np.ndarray
    at: np.ndarray
    sharers: np.ndarray  # count × tokens per term
    slot_key: np.ndarray  # the slot's feature (index into the arrays above)
    owner: np.ndarray  # the slot's token, numbered across the batch
    token_start: np.ndarray  # each message's first token number (and the total at the end)
