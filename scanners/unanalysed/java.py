"""Java serialized objects (java.io.ObjectInputStream streams, magic AC ED 00 05).

Java models and pipelines are stored this way (Weka `.model` files, Spark and DJL artifacts,
anything written with ObjectOutputStream). aisbom does not analyse these streams: the file is
identified and reported as not analysed, naming the first class it holds.
"""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.severity import Severity

JAVA_SERIALIZED = Unanalysed(
    "Java serialized object stream",
    "ObjectInputStream.readObject runs the readObject methods of the classes it names, which "
    "gadget chains (ysoserial) turn into code execution, as pickle's REDUCE does",
    # Deserializing it runs code chosen by the file: as bad as an unknown call in a pickle.
    Severity.HIGH,
)
MAGIC = b"\xac\xed\x00\x05"
_TC_OBJECT, _TC_CLASSDESC = 0x73, 0x72


def first_class(data: Data) -> str | None:
    """The class of the stream's first object (TC_OBJECT TC_CLASSDESC name), if it starts so."""
    if data[4:6] != bytes([_TC_OBJECT, _TC_CLASSDESC]) or len(data) < 8:
        return None
    length = int.from_bytes(data[6:8], "big")
    name = bytes(data[8 : 8 + length])
    return name.decode("utf-8", "replace")[:200] if len(name) == length else None


def scan_java_serialized(data: Data, ctx: ScanContext) -> None:
    name = first_class(data)
    report_not_analysed(ctx, JAVA_SERIALIZED, f"first object: {name}" if name else "")
