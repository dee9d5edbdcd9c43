"""Agents' corrections as training data: messages whose text the store kept and whose latest
verdict gives a label, with provenance, split into a training part and a hold-out."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from custtype.store.records import Store
from custtype.store.settings import StoreSettings
from custtype.taxonomy import LANGS
from custtype.training.dataset import Located, Message

HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class FeedbackData:
    """Labelled messages from the store: `train` to learn from, `holdout` to judge by."""

    where: str
    train: list[Located]
    holdout: list[Located]
    skipped: int  # labelled but not usable (language outside ru/pl/en)


def _in_holdout(prediction_id: str, share: float) -> bool:
    """A fixed split by id: the same message stays on the same side across runs."""
    return zlib.crc32(prediction_id.encode()) % 1000 < share * 1000


def load_feedback(url: str, holdout_share: float = HOLDOUT_SHARE) -> FeedbackData:
    """The store's labelled messages as training rows (`source` = feedback:<agent>)."""
    store = Store.open(StoreSettings(url=url))
    try:
        labelled = store.labelled()
        where = store.where
    finally:
        store.close()
    train: list[Located] = []
    holdout: list[Located] = []
    skipped = 0
    origin = Path(f"feedback:{where}")
    for n, item in enumerate(labelled, start=1):
        if item.language not in LANGS:
            skipped += 1
            continue
        row = labelled_row(
            f"fb-{item.prediction_id}",
            item.language,
            item.label,
            item.text,
            f"feedback:{item.agent_id}",
            origin,
            n,
        )
        side = holdout if _in_holdout(item.prediction_id, holdout_share) else train
        side.append(row)
    return FeedbackData(where, train, holdout, skipped)


def labelled_row(
    id: str, lang: str, label: str, text: str, source: str, origin: Path, line: int
) -> Located:
    """A message labelled in real traffic (an agent's verdict, a team's own label) as a
    training row: its channel and industry are not known, so both are `other`."""
    message = Message(
        id=id,
        lang=lang,  # (Message checks it)
        label=label,
        text=text,
        channel="other",
        industry="other",
        source=source,
    )
    return Located(message, origin, line)
