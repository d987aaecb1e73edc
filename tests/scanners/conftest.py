import sys
from pathlib import Path

# `from payloads import ...`: only shared/ goes on the path, never this folder, whose family
# folders (tensorflow/, keras/, onnx/ ...) would otherwise shadow, or stand in for, those packages.
sys.path.insert(0, str(Path(__file__).resolve().parent / "shared"))
