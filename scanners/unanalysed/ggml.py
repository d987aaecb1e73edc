"""GGML files from before GGUF (whisper.cpp's `ggml-*.bin`, llama.cpp models before August 2023):
a 32-bit magic number written little-endian (`ggml`, `ggmf`, `ggjt`, or `ggla` for LoRA
adapters), hyperparameters, a vocabulary and tensors, with no metadata keys (GGUF, which aisbom
analyses, replaced them)."""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed

GGML = Unanalysed(
    "legacy GGML model",
    "whisper.cpp and older llama.cpp and ggml builds read its hyperparameters, vocabulary and "
    "tensors with their own C parsers; it holds no chat template and no code, and current "
    "llama.cpp refuses it",
)
# The magic as it lies on disk -> the name its writers gave it.
MAGICS = {b"lmgg": "ggml", b"fmgg": "ggmf", b"tjgg": "ggjt", b"algg": "ggla"}


def is_ggml(data: Data) -> bool:
    return bytes(data[:4]) in MAGICS


def scan_ggml(data: Data, ctx: ScanContext) -> None:
    variant = MAGICS.get(bytes(data[:4]), "")
    version = int.from_bytes(bytes(data[4:8]), "little") if variant in ("ggmf", "ggjt") else None
    detail = f"{variant} version {version}" if version is not None else variant
    report_not_analysed(ctx, GGML, detail)
