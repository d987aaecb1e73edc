"""ONNX models, installed as `aisbom.scanners.onnx`: parsed with onnx's own protobuf classes
(after a bounded wire-level pass that strips tensor payloads), never run (`model`)."""
