"""PaddlePaddle programs: `__model__` and `.pdmodel` files, a protobuf `ProgramDesc`
(Paddle's framework.proto): blocks (1), version (4) and operator versions (5); each block an
index (1), its parent's (2), variables (3) and operators (4), each operator naming its type
(3). Recognised by that structure: every top-level field one ProgramDesc defines, and a first
block that is a BlockDesc."""

from __future__ import annotations

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.readers.protobuf_wire import LEN, VARINT, Bounds, WireError, iter_fields
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.wording import counted

PADDLE_PROGRAM = Unanalysed(
    "PaddlePaddle program",
    "Paddle Inference (or paddle.static.load_inference_model) runs its operators; among them save "
    "and load operators write and read files at paths held in their attributes, and py_func calls "
    "Python functions the loading program registered",
)
_PROGRAM_FIELDS = {1: LEN, 4: LEN, 5: LEN}
_BLOCK_FIELDS = {1: VARINT, 2: VARINT, 3: LEN, 4: LEN, 5: VARINT}
_OP_FIELDS = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: VARINT}
_MAX_BLOCKS = 100_000


def block_count(data: Data) -> int | None:
    """How many blocks the ProgramDesc in `data` has, or None if it is not one."""
    if len(data) < 8 or data[0] != 0x0A:
        return None
    blocks = []
    try:
        for field in iter_fields(data, 0, len(data), Bounds(max_fields=_MAX_BLOCKS)):
            if _PROGRAM_FIELDS.get(field.number) != field.wire_type:
                return None
            if field.number == 1:
                blocks.append(field)
        if not blocks or not _is_block(data, blocks[0].start, blocks[0].end):
            return None
    except WireError:
        return None
    return len(blocks)


def _is_block(data: Data, start: int, end: int) -> bool:
    """A BlockDesc with its index and parent index, whose first operator names a type."""
    numbers = set()
    first_op = None
    for field in iter_fields(data, start, end, Bounds(max_fields=_MAX_BLOCKS)):
        if _BLOCK_FIELDS.get(field.number) != field.wire_type:
            return False
        numbers.add(field.number)
        if field.number == 4 and first_op is None:
            first_op = field
    if not {1, 2} <= numbers:
        return False
    if first_op is None:
        return True
    op_numbers = set()
    for field in iter_fields(data, first_op.start, first_op.end, Bounds(max_fields=_MAX_BLOCKS)):
        if _OP_FIELDS.get(field.number) != field.wire_type:
            return False
        op_numbers.add(field.number)
    return 3 in op_numbers


def is_paddle(data: Data) -> bool:
    return block_count(data) is not None


def scan_paddle(data: Data, ctx: ScanContext) -> None:
    blocks = block_count(data)
    report_not_analysed(ctx, PADDLE_PROGRAM, counted(blocks, "block") if blocks else "")
