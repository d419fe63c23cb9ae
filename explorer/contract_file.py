"""Reading the ``attention_explorer`` metadata straight from an ONNX file, without onnx or ONNX
Runtime. Part of the contract (explorer.contract re-exports `read_metadata_text`); standard
library only.

An ONNX file is a protobuf ModelProto; its metadata_props (field 14) are entries of a key
(field 1) and a value (field 2). Reading them by hand skips the graph without parsing it and
needs neither onnx (0.65 s to import) nor an ONNX Runtime session: what listing the bundled
models by name, at start-up, can afford.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from explorer.contract import METADATA_KEY, ContractError

_METADATA_PROPS, _VARINT, _FIXED64, _LENGTH, _FIXED32 = 14, 0, 1, 2, 5  # field number, wire types


def read_metadata_text(path: str | Path) -> str | None:
    """The ``attention_explorer`` metadata JSON stored in the ONNX file at `path`; None where it
    has none. ContractError where the file is not a protobuf at all."""
    path = Path(path)
    with path.open("rb") as stream:
        for field_number, value in _fields(stream, path.name):
            if field_number == _METADATA_PROPS:
                entry = dict(_fields(io.BytesIO(value), path.name))
                if entry.get(1) == METADATA_KEY.encode():
                    return entry.get(2, b"").decode("utf-8", errors="replace")
    return None


def _fields(stream: BinaryIO, name: str):
    """(field number, bytes) of each length-delimited field in turn; other fields are skipped,
    and so is every length-delimited field but metadata_props' own without being read."""
    start = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(start)
    while (key := _varint(stream, name)) is not None:
        field_number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            _varint(stream, name)
        elif wire_type in (_FIXED64, _FIXED32):
            stream.seek(8 if wire_type == _FIXED64 else 4, io.SEEK_CUR)
        elif wire_type == _LENGTH and field_number > 0:
            size = _varint(stream, name)
            if field_number in (_METADATA_PROPS, 1, 2):
                value = stream.read(size or 0)
                if len(value) != size:
                    raise ContractError(f"{name} is cut short: not a whole ONNX file")
                yield field_number, value
            elif stream.seek(size or 0, io.SEEK_CUR) > end:
                raise ContractError(f"{name} is cut short: not a whole ONNX file")
        else:
            raise ContractError(f"{name} is not an ONNX file")


def _varint(stream: BinaryIO, name: str) -> int | None:
    """The next varint; None at the end of the stream."""
    value = shift = 0
    while byte := stream.read(1):
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            break
    if shift == 0:
        return None
    raise ContractError(f"{name} is not an ONNX file")
