"""Open ONNX transformers exported without our metadata: find their attention and describe them.

A plain export (Hugging Face's, or `torch.onnx.export` of a model) computes the attention
probabilities but does not return them. `instrument` finds the Softmax nodes whose output is
(batch, heads, queries, keys), stacks them into the contract's ``attentions.<stack>`` output
(layers, batch, heads, queries, keys), gives the graph the contract's inputs, and builds the
contract metadata from the files Hugging Face writes beside a model (explorer.shared.hf_folder).
The result is an ordinary contract model, in memory: the app runs it from
``model.SerializeToString()``; ``attention-export instrument`` saves it.
numpy + onnx + tokenizers only.
"""

from __future__ import annotations

import math
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from explorer import contract
from explorer.shared.hf_folder import (
    CONFIG,
    HEADS,
    LAYERS,
    FolderError,
    config_value,
    folder_metadata,
    is_decoder,
    read_json,
    token_embedding,
)

TOKEN_TYPE_IDS = "token_type_ids"
POSITION_IDS = "position_ids"
FEEDABLE = (contract.INPUT_IDS, contract.ATTENTION_MASK, TOKEN_TYPE_IDS, POSITION_IDS, contract.PIXEL_VALUES)


class InstrumentError(contract.ContractError):
    """The file's attention cannot be exposed, or its folder lacks what the app needs; says which."""


# -- the graph ----------------------------------------------------------------------------------


def instrument(
    model: onnx.ModelProto | str | Path, folder: str | Path | None = None
) -> tuple[onnx.ModelProto, contract.ModelMetadata]:
    """(model with the contract's inputs and outputs, its metadata) for a plain ONNX transformer.

    `model` is a ModelProto (changed in place) or a path, whose folder is then the default
    `folder`: where config.json and tokenizer.json (or preprocessor_config.json) lie.
    Raises InstrumentError naming what was found and what is missing.
    """
    try:
        return _instrument(model, folder)
    except FolderError as exc:  # a file beside the model is missing or broken
        raise InstrumentError(str(exc)) from None


def _instrument(
    model: onnx.ModelProto | str | Path, folder: str | Path | None
) -> tuple[onnx.ModelProto, contract.ModelMetadata]:
    name = ""
    if not isinstance(model, onnx.ModelProto):
        path = Path(model)
        folder, name = (path.parent if folder is None else folder), path.stem
        model = onnx.load(str(path))
    if folder is None:
        raise InstrumentError("instrument needs the folder that holds the model's config.json")
    folder = Path(folder)
    graph = model.graph
    fused = sorted({f"{n.domain or 'ai.onnx'}.{n.op_type}" for n in graph.node if n.op_type.endswith("Attention")})
    if fused:
        raise InstrumentError(f"the attention is fused into {', '.join(fused)} operators, which keep the "
                              "probabilities inside; export the model without attention fusion (plain MatMul "
                              "and Softmax nodes) to see them")
    inputs = _feedable_inputs(graph)
    config = read_json(folder / CONFIG)
    if config is None:
        raise InstrumentError(f"{folder / CONFIG} is missing: it gives the model's layers, heads and hidden size")
    softmaxes, others = _attention_softmaxes(model)
    if not softmaxes:
        seen = f"; its Softmax nodes have outputs of shape {', '.join(others)}" if others else ""
        raise InstrumentError("found no Softmax over keys with a (batch, heads, queries, keys) output, "
                              f"so there is no attention to expose{seen}")
    _check_sizes(softmaxes, config, folder)
    kind = _guess_kind(graph, inputs, config)
    logits = _logits_source(graph, kind)
    mask = contract.KIND_SEQUENCES[kind][0][1]
    provenance = {"source": "onnx", "attention": f"{len(softmaxes)} Softmax nodes exposed",
                  "config": config.get("model_type", "unknown"), "logits": logits}
    if mask not in inputs:
        provenance["ignored_inputs"] = [mask]  # the contract's mask input, which this graph has no use for
    embedding = None if contract.KIND_SPECS[kind].images else token_embedding(graph, config.get("vocab_size"))
    metadata = folder_metadata(folder, kind, config, name=name, provenance=provenance, embedding=embedding)

    # Everything is known: only now change the graph.
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    _compute_extra_inputs(graph, inputs, opset)
    if mask not in inputs:
        graph.input.append(helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "sequence"]))
    if logits != contract.LOGITS:
        graph.node.append(helper.make_node("Identity", [logits], [contract.LOGITS], name="attention_explorer/logits"))
        graph.output.append(helper.make_value_info(contract.LOGITS, _output(graph, logits).type))
    stack = contract.KIND_STACKS[kind][0]
    _stack_outputs(graph, [output for output, _ in softmaxes], contract.attention_output(stack), opset)
    return model, metadata


def _feedable_inputs(graph: onnx.GraphProto) -> dict[str, onnx.ValueInfoProto]:
    initializers = {t.name for t in graph.initializer}
    inputs = {i.name: i for i in graph.input if i.name not in initializers}
    unknown = [n for n in inputs if n not in FEEDABLE]
    if unknown:
        raise InstrumentError(f"the graph takes inputs the app cannot feed: {unknown}; it can feed "
                              f"{', '.join(FEEDABLE)}")
    for name, value in inputs.items():
        wanted = TensorProto.FLOAT if name == contract.PIXEL_VALUES else TensorProto.INT64
        given = value.type.tensor_type.elem_type
        if given != wanted:
            raise InstrumentError(f"input {name} is {TensorProto.DataType.Name(given)}; the app feeds "
                                  f"{TensorProto.DataType.Name(wanted)}")
    if contract.INPUT_IDS not in inputs and contract.PIXEL_VALUES not in inputs:
        raise InstrumentError(f"the graph takes neither input_ids nor pixel_values (it takes {list(inputs)})")
    return inputs


def _inferred_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    """Every tensor's inferred type. Inference runs on a copy whose big weights are only declared
    (as inputs of the same type), so a 400 MB model is not copied for it."""
    graph = model.graph
    small = [t for t in graph.initializer if math.prod(t.dims) <= 4096]  # shapes and constants inference reads
    big = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in graph.initializer
           if math.prod(t.dims) > 4096]
    declared = {v.name for v in big}
    skeleton = helper.make_model(
        helper.make_graph(graph.node, graph.name, [i for i in graph.input if i.name not in declared] + big,
                          graph.output, small, value_info=graph.value_info),
        opset_imports=model.opset_import, ir_version=model.ir_version, functions=model.functions,
    )
    inferred = onnx.shape_inference.infer_shapes(skeleton).graph
    return {v.name: v.type for v in (*inferred.value_info, *inferred.output, *inferred.input)}


def _attention_softmaxes(model: onnx.ModelProto) -> tuple[list[tuple[str, int | None]], list[str]]:
    """([(output, heads if static)] of the attention Softmax nodes in graph order, shapes of the others)."""
    types = _inferred_types(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    found, others = [], []
    for node in model.graph.node:
        if node.op_type != "Softmax" or node.domain not in ("", "ai.onnx"):
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), -1 if opset >= 13 else 1)
        tensor = types.get(node.output[0], onnx.TypeProto()).tensor_type
        dims = [d.dim_value or d.dim_param or "?" for d in tensor.shape.dim] if tensor.HasField("shape") else None
        if dims is not None and len(dims) == 4 and axis in (-1, 3):
            found.append((node.output[0], dims[1] if isinstance(dims[1], int) else None))
        else:
            others.append(f"[{', '.join(map(str, dims))}] over axis {axis}" if dims else "unknown")
    return found, others


def _check_sizes(softmaxes: list[tuple[str, int | None]], config: dict, folder: Path) -> None:
    layers = config_value(config, LAYERS, "number of layers", folder)
    heads = config_value(config, HEADS, "number of attention heads", folder)
    if len(softmaxes) != layers:
        raise InstrumentError(f"found {len(softmaxes)} Softmax nodes with a (batch, heads, queries, keys) output, "
                              f"but {folder / CONFIG} says the model has {layers} layers; cannot tell which is which")
    static = {h for _, h in softmaxes if h is not None}
    if static - {heads}:
        raise InstrumentError(f"the Softmax outputs have {sorted(static)} heads, {folder / CONFIG} says {heads}")


def _guess_kind(graph: onnx.GraphProto, inputs: dict, config: dict) -> str:
    if contract.PIXEL_VALUES in inputs:
        return "vit-classifier"
    if is_decoder(config):
        return "decoder-lm"
    outputs = {o.name: o for o in graph.output}
    architectures = config.get("architectures") or []
    if contract.LOGITS in outputs and any(a.endswith(("ForMaskedLM", "ForPreTraining")) for a in architectures):
        return "bert-mlm"
    if contract.LOGITS in outputs:
        last = outputs[contract.LOGITS].type.tensor_type.shape.dim
        if len(last) == 3 and last[2].dim_value and last[2].dim_value == config.get("vocab_size"):
            return "bert-mlm"  # per-token scores over the vocabulary
    return "encoder"


# Per kind, the graph outputs that may be its `logits`, in order; None: whatever comes first
# (an encoder's features may have any name).
_LOGITS_SOURCES = {
    "bert-mlm": (contract.LOGITS,),
    "decoder-lm": (contract.LOGITS,),
    "vit-classifier": (contract.LOGITS,),
    "encoder": ("last_hidden_state", contract.LOGITS, None),
}


def _output(graph: onnx.GraphProto, name: str) -> onnx.ValueInfoProto:
    return next(o for o in graph.output if o.name == name)


def _logits_source(graph: onnx.GraphProto, kind: str) -> str:
    """The graph output that is the kind's `logits`."""
    outputs = [o.name for o in graph.output]
    sources = _LOGITS_SOURCES[kind]
    source = next((outputs[0] if n is None else n for n in sources if n in outputs or n is None and outputs), None)
    if source is None:
        named = " or ".join(n for n in sources if n is not None)
        raise InstrumentError(f"a {kind} model needs an output named {named}; the graph's outputs are {outputs}")
    return source


def _compute_extra_inputs(graph: onnx.GraphProto, inputs: dict, opset: int) -> None:
    """token_type_ids (zeros: one segment) and position_ids (0, 1, ...) from input_ids' shape, in the graph."""
    ids = contract.INPUT_IDS
    nodes = []
    if TOKEN_TYPE_IDS in inputs:  # one segment: zeros shaped like input_ids
        nodes += [
            helper.make_node("Shape", [ids], ["attention_explorer/ids_shape"]),
            helper.make_node("ConstantOfShape", ["attention_explorer/ids_shape"], [TOKEN_TYPE_IDS],
                             value=helper.make_tensor("zero", TensorProto.INT64, [1], [0])),
        ]
    if POSITION_IDS in inputs:  # positions 0 .. seq - 1 for every batch item
        nodes += [
            helper.make_node("Shape", [ids], ["attention_explorer/shape"]),
            _constant("attention_explorer/zero", 0),
            _constant("attention_explorer/one", 1),
            helper.make_node("Gather", ["attention_explorer/shape", "attention_explorer/one"],
                             ["attention_explorer/seq"], axis=0),
            helper.make_node("Range", ["attention_explorer/zero", "attention_explorer/seq", "attention_explorer/one"],
                             ["attention_explorer/range"]),
            *_unsqueeze0("attention_explorer/range", "attention_explorer/row", opset),
            helper.make_node("Expand", ["attention_explorer/row", "attention_explorer/shape"], [POSITION_IDS]),
        ]
    computed = {TOKEN_TYPE_IDS, POSITION_IDS}
    kept = [i for i in graph.input if i.name not in computed]
    del graph.input[:]
    graph.input.extend(kept)
    for index, node in enumerate(nodes):  # first in the graph: everything after may read them
        graph.node.insert(index, node)


def _constant(name: str, value: int) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [], [value]))


def _unsqueeze0(source: str, target: str, opset: int) -> list[onnx.NodeProto]:
    """`target` = `source` with a new leading axis; the axes are an attribute before opset 13, an input since."""
    if opset < 13:
        return [helper.make_node("Unsqueeze", [source], [target], axes=[0])]
    axes = helper.make_tensor(f"{target}/axes", TensorProto.INT64, [1], [0])
    return [helper.make_node("Constant", [], [f"{target}/axes"], value=axes),
            helper.make_node("Unsqueeze", [source, f"{target}/axes"], [target])]


def _stack_outputs(graph: onnx.GraphProto, sources: list[str], output: str, opset: int) -> None:
    """One output (layers, batch, heads, queries, keys) from the per-layer (batch, heads, queries, keys)."""
    layers = []
    for layer, source in enumerate(sources):
        layers.append(f"{output}/{layer}")
        graph.node.extend(_unsqueeze0(source, layers[-1], opset))  # (1, B, H, Q, K)
    graph.node.append(helper.make_node("Concat", layers, [f"{output}/any_type"], axis=0))  # (L, B, H, Q, K)
    graph.node.append(helper.make_node("Cast", [f"{output}/any_type"], [output], to=TensorProto.FLOAT))
    graph.output.append(helper.make_tensor_value_info(
        output, TensorProto.FLOAT, [len(sources), "batch", None, "queries", "keys"]
    ))
