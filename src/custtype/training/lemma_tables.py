"""The lemma tables a model ships: the part of simplemma's dictionaries the model needs.

simplemma decodes a whole language's dictionary on its first word (3.7 M Polish forms: 3-7
s per process). A model only has features for lemmas seen in its training data, so it needs
the lemma of every word whose lemma is one of those, or which is one itself; every other
word adds no lemma feature whatever its lemma. The table holds exactly those, computed with
simplemma itself, so a word is lemmatised the same in training and in use.
"""

from __future__ import annotations

from collections.abc import Sequence

from custtype.text.analysis import Analysis
from custtype.text.tokens import simplemma_lemma

TABLE_LANGS = ("pl", "en")  # the languages simplemma lemmatises (Russian: pymorphy3)


def build_lemma_tables(analyses: Sequence[Analysis]) -> dict[str, dict[str, str]]:
    """Per language: lower-cased form → lemma, for the forms whose lemma matters to a model
    trained on `analyses` (forms that are their own lemma are left out: the default)."""
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    dictionaries = DefaultDictionaryFactory()
    tables: dict[str, dict[str, str]] = {}
    for lang in TABLE_LANGS:
        mine = [a for a in analyses if a.lang == lang]
        lemmas = {lem for a in mine for lem in a.chunks.lemmas()}
        forms = {f for a in mine for f in a.chunks.forms() if any(ch.isalpha() for ch in f)}
        for form, lemma in dictionaries.get_dictionary(lang).items():
            word = form.lower()
            if lemma.lower() in lemmas or word in lemmas:
                forms.add(word)
        table = {f: simplemma_lemma(f, lang) for f in sorted(forms)}
        tables[lang] = {f: lem for f, lem in table.items() if lem != f}
    return tables
