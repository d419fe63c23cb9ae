"""Fixtures for the training tests. The ViT's are prefixed `vit_`."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def vit_tiny_recipe():
    """The real pipeline at toy size: 16 px images, two small layers, a dozen steps."""
    from export.data.shapes import ShapesConfig
    from export.models import ViTConfig
    from export.train.loop import TrainConfig
    from export.train.vit import CLASSES, ViTRecipe

    return ViTRecipe(
        model=ViTConfig(image_size=16, patch_size=4, classes=len(CLASSES), d_model=32, heads=2, layers=2, d_ff=64),
        data=ShapesConfig(size=16, radius=(0.25, 0.35), dot_radius_px=(0.5, 1.0), blob_radius_px=(1.0, 1.5)),
        train=TrainConfig(steps=12, lr=3e-3, warmup=3, checkpoint_every=5, bf16=True),
        batch=16,
        held_out=60,
    )


@pytest.fixture(scope="session")
def vit_trained(vit_tiny_recipe, tmp_path_factory):
    """One tiny run of train_vit: (provenance it returned, out_dir, work_dir)."""
    from export.train.vit import train_vit

    root = tmp_path_factory.mktemp("vit")
    provenance = train_vit(root / "out", root / "work", seed=3, recipe=vit_tiny_recipe, progress=False)
    return provenance, root / "out", root / "work"


# -- the text models' fixtures, prefixed `text_` ---------------------------------------------------


@pytest.fixture(scope="session")
def text_topics():
    """The pydoc topics: real English, at hand without importing the standard library."""
    from export.data.text import pydoc_topics

    return pydoc_topics()


@pytest.fixture(scope="session")
def text_python_docs():
    """Python's own documentation: the pydoc topics and the standard library's docstrings, collected once."""
    from export.data.text import corpus

    return corpus()


@pytest.fixture(scope="session")
def text_corpus(text_python_docs):
    """The whole BERT corpus (Python's documentation and the machine's), collected once."""
    from export.data import english

    return english.corpus(text_python_docs)


@pytest.fixture(scope="session")
def text_tiny_date_task():
    """The real date pipeline at toy size: one small layer a side, a handful of steps."""
    from export.models import TransformerConfig
    from export.train.transformer import DateTask

    return DateTask(
        steps=8, batch_size=16, warmup=2, held_out=24,
        model=TransformerConfig(d_model=32, heads=2, encoder_layers=1, decoder_layers=1, d_ff=64, max_positions=64),
    )


@pytest.fixture(scope="session")
def text_transformer_run(text_tiny_date_task, tmp_path_factory):
    """One tiny run of train_transformer: (provenance it returned, out_dir, work_dir)."""
    from export.train.transformer import train_transformer

    root = tmp_path_factory.mktemp("transformer")
    provenance = train_transformer(root / "out", root / "work", seed=3, task=text_tiny_date_task, progress=False)
    return provenance, root / "out", root / "work"


@pytest.fixture(scope="session")
def text_tiny_bert_task():
    from export.models import BertConfig
    from export.train.bert import BertTask

    return BertTask(
        steps=6, batch_size=8, warmup=2, vocab_size=600,
        model=BertConfig(d_model=32, heads=2, layers=1, d_ff=64, max_positions=32),
    )


@pytest.fixture(scope="session")
def text_bert_run(text_tiny_bert_task, text_topics, tmp_path_factory):
    """One tiny run of train_bert on the pydoc topics: (provenance, out_dir, work_dir)."""
    from export.train.bert import train_bert

    root = tmp_path_factory.mktemp("bert")
    provenance = train_bert(
        root / "out", root / "work", seed=3, task=text_tiny_bert_task, docs=text_topics, progress=False
    )
    return provenance, root / "out", root / "work"
