"""Code both sides import: the app (explorer.core) and the PyTorch side (export).

Torch-free and Qt-free: numpy, onnx and tokenizers only, besides explorer.contract.
- hf_folder: a Hugging Face folder on disk (config.json, tokenizer.json, preprocessor_config.json)
  -> the contract's metadata, for `attention-export hf` and for plain exports the app opens
- instrument: a plain ONNX export -> a contract graph (its Softmax nodes as attention outputs)
- images: image preprocessing per the contract's image spec, pixel <-> patch mapping
- feeds: the inputs a caller may leave out (head masks, an empty past), filled in
- rollout: attention rollout across layers
"""
