"""Open a contract ONNX file with ONNX Runtime: session, metadata, parameter count, provider.

A file exported without our metadata is instrumented in memory (explorer.shared.instrument):
its attention becomes graph outputs and the Hugging Face files beside it give the metadata.
Every way opening can fail ends in one `ModelOpenError` whose message tells a person
what is wrong with the file and what to do about it.
"""

from __future__ import annotations

import ctypes
import functools
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import onnxruntime as ort

from explorer import contract

if TYPE_CHECKING:
    import onnx  # imported where used: a tenth of a second at start-up that contract files never need

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
PROVIDER_CHOICES = ("cpu", "cuda")


class ModelOpenError(Exception):
    """A file could not be opened as an Attention Explorer model; the message says why."""


def cuda_available() -> bool:
    """Whether this onnxruntime build offers the CUDA provider (onnxruntime-gpu)."""
    return CUDA in ort.get_available_providers()


@dataclass(frozen=True)
class LoadedModel:
    """An open model: the session that runs it and what its metadata says about it."""

    path: Path
    session: ort.InferenceSession
    meta: contract.ModelMetadata
    parameters: int  # the model's parameter count (see `parameter_count`)
    parameters_counted: bool  # True: counted from the file's weights, which the exporter may fold or copy
    requested_provider: str  # "cpu" or "cuda", as asked
    notices: tuple[str, ...] = ()  # e.g. the CUDA provider could not start

    @property
    def providers(self) -> list[str]:
        """The providers ONNX Runtime really runs this session on, first one first."""
        return self.session.get_providers()

    @property
    def input_names(self) -> list[str]:
        """What the graph can be fed: its inputs, and the inputs it gives defaults (the head masks)."""
        return _input_names(self.session)

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.session.get_outputs()]

    @property
    def name(self) -> str:
        return self.meta.name or self.path.stem


def open_model(path: str | Path, provider: str = "cpu") -> LoadedModel:
    """Open `path` on `provider` ("cpu" or "cuda"); raise ModelOpenError naming what is wrong."""
    path = Path(path)
    if provider not in PROVIDER_CHOICES:
        raise ValueError(f"provider must be one of {PROVIDER_CHOICES}, got {provider!r}")
    if not path.exists():
        raise ModelOpenError(f"There is no file {path}.")
    if path.is_dir():
        raise ModelOpenError(f"{path} is a folder; choose an .onnx file inside it.")

    session, notices = _start_session(path, provider)
    entries = session.get_modelmeta().custom_metadata_map
    if contract.METADATA_KEY in entries:
        meta = _parse_metadata(entries[contract.METADATA_KEY], path)
    else:  # a plain export: expose its attention in memory and run that graph instead
        proto, meta = _instrument_plain_export(path)
        session, notices = _start_session(path, provider, proto.SerializeToString())
    try:
        contract.check_graph_io(meta, _input_names(session), [o.name for o in session.get_outputs()])
    except contract.ContractError as exc:
        raise ModelOpenError(f"{path.name} does not follow the attention contract: {exc}.") from None
    parameters, counted = parameter_count(path, meta)
    return LoadedModel(path.resolve(), session, meta, parameters, counted, provider, tuple(notices))


def _input_names(session: ort.InferenceSession) -> list[str]:
    # ORT lists a graph input that has a default value as an "overridable initializer", not an input.
    return [i.name for i in session.get_inputs()] + [i.name for i in session.get_overridable_initializers()]


def _session(source: Path | bytes, providers: list[str]) -> ort.InferenceSession:
    return ort.InferenceSession(source if isinstance(source, bytes) else str(source), session_options(),
                                providers=providers)


@functools.cache
def _give_freed_tensors_back() -> None:
    """Make glibc's malloc hand every block of 1 MB or more back to the system when it is freed. By
    default its threshold for that rises (to 32 MB) as large blocks are freed, and blocks below it then
    come from a heap that stays resident: a 4,096-token run of a SmolLM-shaped import, whose tensors
    die a chunk at a time, kept 5.9 GB in the app where 3.6 GB were live (benchmarks/long_app.py), in
    the same time. Without glibc (macOS, Windows) there is nothing to set."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # another C library (musl)
        return
    libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD, in bytes; setting it also stops it moving


def session_options() -> ort.SessionOptions:
    """How the app runs every graph (benchmarks/long_inputs.py measures with the same)."""
    _give_freed_tensors_back()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no warnings about head-mask defaults on every open
    # Without the arena a BERT-base session stays at 1.2 GB (1.6 GB peak) over repeated 512-token
    # runs instead of growing to 1.8 GB; speed was the same within the noise.
    options.enable_cpu_mem_arena = False
    # ORT's worker threads spin for a while after each run by default: on a small machine that
    # takes a core from the GUI thread just when it draws the result. A 64-token run of the
    # bundled BERT took 2.7 ms instead of 2.5 without spinning; its threads then used no CPU
    # where they had used half a core.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # The graph's own order, not ORT's default (a depth-first walk back from each output in turn): that
    # walk runs every layer's long-input outputs after the last layer, keeping each layer's full attention
    # alive until then; in graph order it dies with its layer (docs/onnx-contract.md, "Long inputs").
    options.execution_order = ort.ExecutionOrder.PRIORITY_BASED
    return options


def _start_session(
    path: Path, provider: str, graph: bytes | None = None
) -> tuple[ort.InferenceSession, list[str]]:
    """A session over the file at `path` (or over `graph`, a changed copy of it) on the provider
    asked for, or on the CPU with a notice saying why not."""
    source = path if graph is None else graph
    notices: list[str] = []
    if provider == "cuda":
        if cuda_available():
            try:
                session = _session(source, [CUDA, CPU])
            except Exception as exc:  # noqa: BLE001 - any CUDA start failure means: run on the CPU
                notices.append(f"The CUDA provider could not start ({error_summary(exc)}); running on the CPU.")
            else:
                if CUDA in session.get_providers():
                    return session, notices
                notices.append("The CUDA provider could not start; running on the CPU.")
        else:
            notices.append("This onnxruntime has no CUDA provider (install onnxruntime-gpu); running on the CPU.")
    try:
        return _session(source, [CPU]), notices
    except Exception as exc:  # noqa: BLE001 - ORT raises its own types for bad protobuf, bad graphs...
        raise ModelOpenError(
            f"{path.name} is not an ONNX model that ONNX Runtime can read ({error_summary(exc)})."
        ) from None


def _parse_metadata(text: str, path: Path) -> contract.ModelMetadata:
    try:
        return contract.parse_metadata(text)
    except contract.ContractError as exc:
        raise ModelOpenError(f"{path.name} has broken Attention Explorer metadata: {exc}.") from None


def _instrument_plain_export(path: Path) -> tuple[onnx.ModelProto, contract.ModelMetadata]:
    """A file exported without our metadata (plain Hugging Face or PyTorch exports): its Softmax
    nodes become attention outputs and the Hugging Face files beside it give the metadata."""
    from explorer.shared.instrument import instrument  # imports onnx

    try:
        return instrument(path)
    except contract.ContractError as exc:
        raise ModelOpenError(
            f"{path.name} is an ONNX model, but not one exported for Attention Explorer: it has no "
            f"'{contract.METADATA_KEY}' metadata, and its attention could not be found on its own: {exc}. "
            "Export the model with `attention-export` to open it here."
        ) from None


def parameter_count(path: Path, meta: contract.ModelMetadata) -> tuple[int, bool]:
    """(count, counted): the count the metadata's provenance gives as `parameters`, else one
    counted from the file (counted=True). A graph's weights are not exactly the model's
    parameters: export folds some (LayerNorm scales of one) and copies others (a tied
    embedding and its transpose), so the metadata's figure is preferred."""
    given = meta.provenance.get("parameters")
    if isinstance(given, int) and not isinstance(given, bool) and given > 0:
        return given, False
    return count_file_weights(path), True


def count_file_weights(path: Path) -> int:
    """Elements of the file's floating-point initializers, less those that are graph inputs
    (defaults such as the head masks)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    inputs = {i.name for i in graph.input}
    floating = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE}
    return sum(
        math.prod(init.dims) for init in graph.initializer if init.data_type in floating and init.name not in inputs
    )


def error_summary(exc: BaseException) -> str:
    """The first line of an error's message, without ONNX Runtime's "[ONNXRuntimeError] : 7 :
    INVALID_PROTOBUF :" prefix: the part a person can read."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].split(" : ")[-1].strip()
