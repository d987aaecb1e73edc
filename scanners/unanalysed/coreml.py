"""Core ML (Apple): a model specification (`.mlmodel`, and `Data/com.apple.CoreML/model.mlmodel`
inside an `.mlpackage`) and the weight file of an ML program (`weights/weight.bin`).

The specification is a protobuf `Model` message (coremltools' Model.proto): specification
version (1), description (2), isUpdatable (10), and one model type, a field numbered 200 or
above (neuralNetwork 500, mlProgram 502 ...). Its first bytes are those of an ONNX ModelProto
(`08 xx 12`) and, at specification version 1, of a TensorFlow SavedModel (`08 01 12`), so it is
recognised by its structure over the whole top-level message: fields ONNX and TensorFlow never
have (a model type) and none that Core ML does not define.
"""

from __future__ import annotations

import struct

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers.protobuf_wire import LEN, VARINT, Bounds, WireError, iter_fields
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.wording import counted

COREML = Unanalysed(
    "Core ML model specification",
    "Core ML compiles and runs it on Apple platforms (coremltools through Core ML on macOS); a "
    "custom layer or custom model names a class the application must supply, and a linked model "
    "loads another compiled model by file name",
)
COREML_WEIGHTS = Unanalysed(
    "Core ML weight file",
    "Core ML reads the tensors of the package's ML program from it, at the offsets the model "
    "specification gives",
)

# Model.Type: field number -> what the model is (Model.proto's oneof).
_MODEL_TYPES = {
    200: "pipeline classifier", 201: "pipeline regressor", 202: "pipeline",
    300: "GLM regressor", 301: "support vector regressor", 302: "tree ensemble regressor",
    303: "neural network regressor", 304: "Bayesian probit regressor",
    400: "GLM classifier", 401: "support vector classifier", 402: "tree ensemble classifier",
    403: "neural network classifier", 404: "k-nearest neighbours classifier",
    500: "neural network", 501: "item similarity recommender", 502: "ML program",
    555: "custom model", 556: "linked model", 560: "class confidence thresholding",
    600: "one-hot encoder", 601: "imputer", 602: "feature vectorizer", 603: "dict vectorizer",
    604: "scaler", 606: "categorical mapping", 607: "normalizer", 609: "array feature extractor",
    610: "non-maximum suppression", 900: "identity",
    2000: "text classifier", 2001: "word tagger", 2002: "vision feature print",
    2003: "sound analysis preprocessing", 2004: "gazetteer", 2005: "word embedding",
    2006: "audio feature print", 3000: "serialized model",
}  # fmt: skip
_MODEL_FIELDS = {1: VARINT, 2: LEN, 10: VARINT} | dict.fromkeys(_MODEL_TYPES, LEN)
# ModelDescription: input, output, predicted names, state, functions, training input, metadata.
_DESCRIPTION_FIELDS = {1: LEN, 10: LEN, 11: LEN, 12: LEN, 13: LEN, 20: LEN, 21: LEN, 50: LEN, 100: LEN}
_MAX_TOP_FIELDS = 64  # a Model has four top-level fields; more is not one
_MAX_DESCRIPTION_FIELDS = 100_000

# The weight file (coremltools' MIL blob storage, version 2): a 64-byte header (blob count,
# version, zeros), then for each blob 64 bytes of metadata opening with this sentinel.
_WEIGHTS_HEADER = struct.Struct("<II")
_BLOB_SENTINEL = b"\xef\xbe\xad\xde"  # 0xDEADBEEF, little-endian


def model_type(data: Data) -> tuple[int, str] | None:
    """(specification version, model type) if `data` is a Core ML Model message, else None."""
    if len(data) < 8 or data[0] not in (0x08, 0x12):
        return None
    version, description, kinds = None, None, []
    try:
        for field in iter_fields(data, 0, len(data), Bounds(max_fields=_MAX_TOP_FIELDS)):
            if _MODEL_FIELDS.get(field.number) != field.wire_type:
                return None
            if field.number == 1:
                version = field.value
            elif field.number == 2:
                description = field
            elif field.number in _MODEL_TYPES:
                kinds.append(field.number)
        if version is None or not 1 <= version <= 100 or description is None or len(kinds) != 1:
            return None
        bounds = Bounds(max_fields=_MAX_DESCRIPTION_FIELDS)
        for field in iter_fields(data, description.start, description.end, bounds):
            if _DESCRIPTION_FIELDS.get(field.number) != field.wire_type:
                return None
    except WireError:  # not a protobuf, or more fields than a Core ML model has
        return None
    return version, _MODEL_TYPES[kinds[0]]


def is_coreml(data: Data) -> bool:
    return model_type(data) is not None


def scan_coreml(data: Data, ctx: ScanContext) -> None:
    found = model_type(data)
    detail = f"specification version {found[0]}, {found[1]}" if found else ""
    report_not_analysed(ctx, COREML, detail)


def is_weights(data: Data) -> bool:
    if len(data) < 128:
        return False
    count, version = _WEIGHTS_HEADER.unpack_from(bytes(data[:8]))
    reserved_zero = bytes(data[8:64]) == bytes(56)
    return count >= 1 and version == 2 and reserved_zero and bytes(data[64:68]) == _BLOB_SENTINEL


def scan_weights(data: Data, ctx: ScanContext) -> None:
    (count,) = struct.unpack_from("<I", bytes(data[:4]))
    report_not_analysed(ctx, COREML_WEIGHTS, counted(count, "blob"))
