"""Labels and outcomes posted after the fact, joined to predictions by prediction id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["MAX_UNKNOWN_IDS", "Label", "LabelIngestResult", "LabelRecord", "LabelValue"]

LabelValue = float | int | bool | str
MAX_UNKNOWN_IDS: Final = 100


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth and/or business outcomes of one prediction, as the caller sends them.

    Attributes:
        prediction_id: the id the prediction was logged with.
        label: the true answer: a number, a boolean or a class name; None when only
            outcomes are sent.
        outcomes: business outcomes by name (`{"revenue": 12.5}`); names are lowercase
            letters, digits and `_`, starting with a letter.
        at_ms: when the label became true, epoch ms UTC; None: when it is received.
    """

    prediction_id: str
    label: LabelValue | None = None
    outcomes: dict[str, float] = field(default_factory=dict)
    at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """One stored label of a prediction, as `LabelStore.history` returns it.

    Attributes:
        prediction_id: the prediction labelled.
        label: the number (booleans as 1.0/0.0) when the label was numeric, else its text.
        label_text: the label's string form (class names), None when no label was sent.
        outcomes: the outcomes sent with this label.
        labelled_at_ms: when the label became true (the sender's `at_ms`, or receipt time).
        received_at_ms: when Steward stored it.
        batch_id: the ingest batch it came in.
        sequence: the batch's position among the endpoint's batches; higher is later.
    """

    prediction_id: str
    label: float | str | None
    label_text: str | None
    outcomes: dict[str, float]
    labelled_at_ms: int
    received_at_ms: int
    batch_id: str
    sequence: int


@dataclass(frozen=True, slots=True)
class LabelIngestResult:
    """What one ingest stored.

    Attributes:
        accepted: labels stored (every label sent, when the call succeeds).
        updated: distinct prediction ids that already had a label; the new one wins.
        unknown: distinct prediction ids not (yet) in the endpoint's compacted predictions;
            their labels are stored all the same.
        unknown_ids: the first `MAX_UNKNOWN_IDS` of those ids.
    """

    accepted: int
    updated: int
    unknown: int
    unknown_ids: tuple[str, ...] = ()

    def __add__(self, other: LabelIngestResult) -> LabelIngestResult:
        """Two batches' results as one (e.g. a file sent in chunks)."""
        return LabelIngestResult(
            accepted=self.accepted + other.accepted,
            updated=self.updated + other.updated,
            unknown=self.unknown + other.unknown,
            unknown_ids=(self.unknown_ids + other.unknown_ids)[:MAX_UNKNOWN_IDS],
        )
