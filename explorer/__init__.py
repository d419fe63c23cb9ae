"""Attention Explorer: look inside Transformers."""

import os

# The app's numpy work is many small matrices (rollout's 197 x 197 products, statistics,
# thumbnails) while ONNX Runtime runs the model on its own threads. Multi-threaded BLAS on
# such small products only fights those threads: rollout at ViT-B size took 206-264 ms with
# OpenBLAS's default threads and 6 ms with one. Set before numpy is first imported; a
# caller's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
