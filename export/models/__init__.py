"""The three models of the seed, built from export.layers."""

from export.models.bert import Bert, BertConfig
from export.models.transformer import Transformer, TransformerConfig
from export.models.vit import ViT, ViTConfig

__all__ = ["Bert", "BertConfig", "Transformer", "TransformerConfig", "ViT", "ViTConfig"]
