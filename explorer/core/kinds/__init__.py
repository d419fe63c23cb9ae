"""The kinds of model the app opens, each described once (explorer.core.kinds.base.Kind).

    kind = kind_of(model.meta)   # or kind_of("seq2seq")
    kind.takes_images, kind.steps, kind.run(runner, inputs), kind.outcome(...)

A new kind is one module here, registered in KINDS below (and its stacks and sequences in
explorer.contract.KIND_SPECS).
"""

from __future__ import annotations

from explorer import contract
from explorer.core.kinds.base import Kind
from explorer.core.kinds.seq2seq import Seq2Seq
from explorer.core.kinds.speech import SpeechToText
from explorer.core.kinds.text import DecoderLanguageModel, Encoder, MaskedLanguageModel
from explorer.core.kinds.vit import ImageClassifier

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    MaskedLanguageModel(), Encoder(), DecoderLanguageModel(), Seq2Seq(), SpeechToText(), ImageClassifier(),
)}


def kind_of(meta_or_name: contract.ModelMetadata | str) -> Kind:
    """The Kind of a model's metadata, or of a kind name."""
    name = meta_or_name if isinstance(meta_or_name, str) else meta_or_name.kind
    return KINDS[name]


__all__ = ["KINDS", "Kind", "kind_of"]
