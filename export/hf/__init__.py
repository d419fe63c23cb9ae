"""Import a Hugging Face checkpoint folder on disk as one contract ONNX file.

    attention-export hf DIR --out FILE.onnx [--task encoder|bert-mlm|vit-classifier|decoder-lm|seq2seq]

DIR is what `save_pretrained` writes: config.json, the weights (model.safetensors or
pytorch_model.bin) and, for text, tokenizer.json (for images, preprocessor_config.json). A hub id
ORG/NAME that is no folder here is downloaded first (hub.py: those files only; offline, a cached
copy or a sentence saying so).

Supported (families.py describes each once): as `encoder` or `bert-mlm`, BERT-family encoders
(BERT, MiniLM and others with BERT's layout, RoBERTa, XLM-RoBERTa, DistilBERT), ELECTRA and ALBERT
(embeddings projected to the hidden width; ALBERT's one layer shared by all), MPNet and DeBERTa-v2/v3
(relative positions) and ModernBERT (rotary, local layers with a window on either side); as
`vit-classifier` (vision.py), ViT, DeiT (a distillation token), BEiT (a relative position bias),
DINOv2 (with registers, named in the token strip) and the image towers of CLIP and SigLIP (no class
token), a checkpoint without a classifier giving its pooled features as the logits; as `decoder-lm`
with a key-value cache, GPT-2, the Llama-layout decoders with rotary positions, RMSNorm and
grouped-query attention (Llama, Mistral with its sliding window, Qwen2, Qwen3, Phi-3, Gemma, and
Gemma 2 with soft-capped scores and logits and a sliding window on alternate layers), GPT-NeoX,
Phi-1/2, OPT, GPT-J, GPT-Neo (a local window on alternate layers), BLOOM (ALiBi) and Falcon
(multi-query); as `seq2seq` (seq2seq.py: the encoder, decoder and cross stacks, a head mask for each,
the decoder starting from decoder_start_token_id), T5 (a relative position bias, unscaled q·k), BART,
Marian, mBART and Pegasus (every stack's q, k, v; T5's files none, nor any hidden states). Swin, whole CLIP and
SigLIP checkpoints (text and image towers) and any other model_type are refused with a sentence.

The model runs eager attention (softmax of the scaled scores plus the additive mask); SDPA would
return no probabilities. transformers 5 dropped the `head_mask` argument; head_mask.py puts it back
the one way every family allows, a forward pre-hook that scales each head's slice of W_O's input,
so every file gets the contract's optional `head_mask.<stack>` input. Where the family's attention
goes through transformers' AttentionInterface, our registered function (attention.py) also keeps
each call's query, key and value (one per query head) and how it scored them (scale, soft cap,
sliding window); the families with attention code of their own (MPNet, DeBERTa-v2, GPT-Neo, BLOOM,
Falcon; BEiT, whose bias rides in the mask, and SigLIP, whose attention passes no record on) give
their probabilities through output_attentions and their files have no q, k or v (the one-head
anatomy says so). The file carries the hidden states and the names of the embedding, W_O
and final-norm weights (wrapper.py), so the app's anatomy views take an import apart as they do a
bundled model. The metadata comes from the same readers of a Hugging
Face folder that open plain ONNX exports in the app (explorer.shared.instrument); folder.py
reads the folder, convert.py writes the file.
"""

from export.hf.convert import export_hf, kv_cache
from export.hf.families import FAMILIES, Family
from export.hf.folder import Checkpoint, load_model, read_checkpoint
from export.hf.wrapper import ContractWrapper

__all__ = ["FAMILIES", "Checkpoint", "ContractWrapper", "Family", "export_hf", "kv_cache", "load_model",
           "read_checkpoint"]
