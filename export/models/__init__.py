"""The seed's three models and a decoder-only GPT, built from export.layers."""

from export.models.bert import Bert, BertConfig
from export.models.gpt import GPT, GPTConfig
from export.models.transformer import Transformer, TransformerConfig
from export.models.vit import ViT, ViTConfig

__all__ = ["GPT", "Bert", "BertConfig", "GPTConfig", "Transformer", "TransformerConfig", "ViT", "ViTConfig"]
