"""Float16 storage for an exported file's weights: half the bytes, the same float32 graph.

`store_float16` rewrites a saved ONNX file so that its large float32 initializers are stored as
float16 under their own names, each read through one Cast back to float32. The graph still
computes in float32, its inputs and outputs keep their types, and the initializers the metadata
names (embedding, text_embedding, output_projection, unembedding) stay where it says; a reader of
those weights gets float16 and widens it (explorer.core.anatomy does). Unlike a full float16
conversion, no operator runs in float16, so the only change to the outputs is the weights'
rounding: a PyTorch model with its weights rounded to float16 gives the same numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CAST_SUFFIX = ".float32"  # the Cast's output: `<initializer>.float32`


def store_float16(path: str | Path, min_elements: int = 1024) -> list[str]:
    """Store every float32 initializer of at least `min_elements` elements as float16, in place.
    Initializers that are also graph inputs (head masks: overridable defaults) keep float32, as
    a caller feeds them in float32, and so do any that are graph outputs. Returns the names
    stored as float16."""
    proto = onnx.load(str(path))
    graph = proto.graph
    keep = {v.name for v in [*graph.input, *graph.output]}
    halved = []
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT and math.prod(init.dims) >= min_elements and init.name not in keep:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
            halved.append(init.name)
    if not halved:
        return []
    _read_through(graph, {name: name + CAST_SUFFIX for name in halved})
    casts = [
        helper.make_node("Cast", [name], [name + CAST_SUFFIX], name=f"float16_weight_{i}", to=TensorProto.FLOAT)
        for i, name in enumerate(halved)
    ]
    _replace(graph.node, casts + list(graph.node))
    # A type recorded for an initializer's name would now be wrong; ONNX Runtime infers it again.
    _replace(graph.value_info, [v for v in graph.value_info if v.name not in set(halved)])
    onnx.save_model(proto, str(path), save_as_external_data=False)
    return halved


def _replace(field, items: list) -> None:
    """Set a repeated protobuf field (which takes no slice assignment) to `items`."""
    del field[:]
    field.extend(items)


def _read_through(graph: onnx.GraphProto, renamed: dict[str, str]) -> None:
    """Every node that reads a renamed value reads its new name, in subgraphs too (they see the
    outer graph's initializers)."""
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renamed:
                node.input[i] = renamed[name]
        for attribute in node.attribute:
            for sub in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else list(attribute.graphs):
                _read_through(sub, renamed)
