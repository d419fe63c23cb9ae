"""The PyTorch side of Attention Explorer: models, data, training, ONNX export, imports."""
