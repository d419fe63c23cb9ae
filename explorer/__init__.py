"""Attention Explorer: look inside Transformers."""

import os

# The app's numpy work is many small matrices (rollout's 197 x 197 products, statistics,
# thumbnails) while ONNX Runtime runs the model on its own threads. Multi-threaded BLAS on
# such small products only fights those threads: rollout at ViT-B size took 206-264 ms with
# OpenBLAS's default threads and 6 ms with one. Set before numpy is first imported; a
# caller's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# numpy asks the kernel for transparent huge pages on every large array. Measured here, faulting
# in a GPT-2-small generation's 0.9 GB of cache buffers took 2.7-3.8 s with them and 0.4-0.5 s
# without (the first cached step of a 1,024-token prompt), the forward itself no slower. Set
# before numpy is first imported (numpy reads it then); a caller's own setting wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
