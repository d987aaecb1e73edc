"""The convert tests' helpers (`_convert_helpers`) and fixture builders (`convert_inputs`) on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
