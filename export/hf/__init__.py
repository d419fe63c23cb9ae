"""Import a Hugging Face checkpoint folder on disk as one contract ONNX file.

    attention-export hf DIR --out FILE.onnx [--task encoder|bert-mlm|vit-classifier|decoder-lm]

DIR is what `save_pretrained` writes: config.json, the weights (model.safetensors or
pytorch_model.bin) and, for text, tokenizer.json. Nothing is ever downloaded.

Supported (families.py describes each once): BERT-family encoders (BERT, MiniLM and others with
BERT's layout, RoBERTa, XLM-RoBERTa, DistilBERT) as `encoder` or `bert-mlm`; ViT as
`vit-classifier`; as `decoder-lm` with a key-value cache, GPT-2, the Llama-layout decoders with
rotary positions, RMSNorm and grouped-query attention (Llama, Mistral with its sliding window,
Qwen2, Qwen3, Phi-3, Gemma, and Gemma 2 with soft-capped scores and logits and a sliding window
on alternate layers), GPT-NeoX, Phi-1/2 and OPT.

The model runs transformers' eager attention (softmax of the scaled scores plus the additive
mask); SDPA would return no probabilities. transformers 5 dropped the `head_mask` argument, so
attention.py puts it back: every file gets the contract's optional `head_mask.<stack>` input. The
same function keeps each call's query, key and value (one per query head) and how it scored them
(scale, soft cap, sliding window), and the file carries them with the hidden states and the names
of the embedding, W_O and final-norm weights (wrapper.py), so the app's anatomy views take an
import apart as they do a bundled model. The metadata comes from the same readers of a Hugging
Face folder that open plain ONNX exports in the app (explorer.shared.instrument); folder.py
reads the folder, convert.py writes the file.
"""

from export.hf.convert import export_hf, kv_cache
from export.hf.families import FAMILIES, Family
from export.hf.folder import Checkpoint, load_model, read_checkpoint
from export.hf.wrapper import ContractWrapper

__all__ = ["FAMILIES", "Checkpoint", "ContractWrapper", "Family", "export_hf", "kv_cache", "load_model",
           "read_checkpoint"]
