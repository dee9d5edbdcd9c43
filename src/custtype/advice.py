"""Advice for the agent: a prediction joined with the strategy that fits it.

The one place where the classifier meets the playbook. The CLI, the API, batch scoring and
profiles all go through `Assistant`, so a team's playbook override applies everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custtype.errors import InputError
from custtype.model.classifier import Classifier, Prediction
from custtype.model.evidence import Evidence
from custtype.strategy.automation import Action, AutomationPolicy, load_automation
from custtype.strategy.context import MessageContext
from custtype.strategy.playbook import Playbook, load_playbook
from custtype.strategy.rules import Recommendation, recommend
from custtype.taxonomy import LANGS

DEFAULT_AGENT_LANG = "en"


@dataclass(frozen=True)
class Advice:
    """What the agent sees for one message: the prediction, the strategy, and the action the
    team's automation policy allows (tagging and routing only)."""

    prediction: Prediction
    strategy: Recommendation
    action: Action

    @property
    def type(self) -> str | None:
        return self.prediction.type

    @property
    def outcome(self) -> str:
        return self.prediction.outcome

    @property
    def confidence(self) -> float:
        return self.prediction.confidence

    @property
    def confidence_level(self) -> str:
        return self.prediction.confidence_level

    @property
    def language(self) -> str:
        return self.prediction.language

    @property
    def evidence(self) -> list[Evidence]:
        return self.prediction.evidence

    @property
    def label(self) -> str | None:
        return self.prediction.label

    @property
    def probabilities(self) -> dict[str, float]:
        return self.prediction.probabilities

    @property
    def model_version(self) -> str:
        return self.prediction.model_version

    @property
    def reason(self) -> str | None:
        return self.prediction.reason

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (see README): the prediction with its strategy."""
        out = self.prediction.to_dict()
        at = list(out).index("model_version")
        items = list(out.items())
        items.insert(at, ("strategy", self.strategy.model_dump()))
        items.insert(at + 1, ("action", self.action.level))
        return dict(items)


class Assistant:
    """Classifier plus playbook plus automation policy.
    ``Assistant.load().advise(["Где мой заказ?!"])[0].to_dict()``"""

    def __init__(
        self,
        classifier: Classifier,
        playbook: Playbook | None = None,
        automation: AutomationPolicy | None = None,
    ) -> None:
        self.classifier = classifier
        self.playbook = playbook or load_playbook()
        self.automation = automation or load_automation()

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        playbook: str | Path | None = None,
        thresholds: str | Path | None = None,
        automation: str | Path | None = None,
    ) -> Assistant:
        """The shipped (or given) model with the built-in (or a team's) playbook and
        automation policy."""
        return cls(
            Classifier.load(model, thresholds=thresholds),
            load_playbook(playbook),
            load_automation(automation),
        )

    @property
    def version(self) -> str:
        return self.classifier.version

    def advise(
        self,
        texts: Sequence[str],
        lang: str | Sequence[str | None] | None = None,
        contexts: Sequence[MessageContext | None] | None = None,
        agent_lang: str | Sequence[str | None] | None = None,
        explain_evidence: bool = True,
    ) -> list[Advice]:
        """Predict each text's type and attach the strategy for it.

        `contexts` (one per text, or None) add channel, earlier contacts and flags;
        `agent_lang` is the language of the agent's interface, one for all texts or one per
        text (default: the message's language).
        """
        n = len(texts)
        ctxs = _per_text(contexts, n, "contexts")
        agents = _per_text(agent_lang, n, "agent languages")
        predictions = self.classifier.predict(texts, lang, explain_evidence=explain_evidence)
        return [
            Advice(
                p,
                self.strategy_for(p, texts[i], ctxs[i], agents[i]),
                self.automation.action_for(p.type, p.confidence),
            )
            for i, p in enumerate(predictions)
        ]

    def advise_each(
        self,
        texts: Sequence[str],
        lang: Sequence[str | None],
        contexts: Sequence[MessageContext | None] | None = None,
        agent_lang: str | Sequence[str | None] | None = None,
        explain_evidence: bool = True,
    ) -> list[Advice | Exception]:
        """`advise` on a batch; if the batch fails, text by text, so a text that cannot be
        scored gets its own error in its place and the others their advice."""
        n = len(texts)
        ctxs = _per_text(contexts, n, "contexts")
        agents = _per_text(agent_lang, n, "agent languages")
        try:
            return list(self.advise(texts, lang, ctxs, agents, explain_evidence))
        except Exception as exc:
            if n == 1:
                return [exc]
        out: list[Advice | Exception] = []
        for i in range(n):
            try:
                out += self.advise([texts[i]], [lang[i]], [ctxs[i]], [agents[i]], explain_evidence)
            except Exception as exc:
                out.append(exc)
        return out

    def strategy_for(
        self,
        prediction: Prediction,
        text: str,
        context: MessageContext | None = None,
        agent_lang: str | None = None,
    ) -> Recommendation:
        """The strategy for a prediction of `text`, with the context rules applied."""
        ctx = context or MessageContext()
        if ctx.text is None:
            ctx = ctx.model_copy(update={"text": text})
        supported = prediction.language in LANGS
        lang = agent_lang or (prediction.language if supported else DEFAULT_AGENT_LANG)
        cues = prediction.cues if supported else None
        customer = prediction.language if supported else lang
        return recommend(prediction.type, lang, ctx, self.playbook, cues, customer_lang=customer)


def _per_text(value: object, n: int, what: str) -> list[Any]:
    """One value per text: a list as given (its length checked), else `value` n times."""
    if isinstance(value, list | tuple):
        if len(value) != n:
            raise InputError(f"got {len(value)} {what} for {n} texts.")
        return list(value)
    return [value] * n
