"""MXNet models: the graph as JSON (`*-symbol.json`: `nodes`, `arg_nodes`, `heads`, each node
an `op` and a `name`) and the weights as an NDArray list (`*.params`: the magic number 0x112 as
a 64-bit little-endian integer, 64 reserved zero bits, then the arrays and their names)."""

from __future__ import annotations

import re

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.scanners.unanalysed.finding import Unanalysed, report_not_analysed
from aisbom.wording import counted

MXNET_SYMBOL = Unanalysed(
    "MXNet symbol graph",
    "MXNet builds the graph (mx.sym.load, gluon.SymbolBlock.imports); a Custom operator names a "
    "Python class the loading program registered (mx.operator.register)",
)
MXNET_PARAMS = Unanalysed(
    "MXNet parameter file",
    "MXNet reads the arrays and names it lists (mx.nd.load, SymbolBlock.imports)",
)
PARAMS_MAGIC = (0x112).to_bytes(8, "little") + bytes(8)
# MXNet writes the nodes first, each opening with its op and name.
_SYMBOL_HEAD = re.compile(rb'\A\s*\{\s*"nodes"\s*:\s*\[\s*\{\s*"op"\s*:\s*"')


def is_symbol(data: Data) -> bool:
    return bool(_SYMBOL_HEAD.match(bytes(data[:256]))) and all(
        data.find(key) > 0 for key in (b'"arg_nodes"', b'"heads"')
    )


def scan_symbol(data: Data, ctx: ScanContext) -> None:
    report_not_analysed(ctx, MXNET_SYMBOL)


def is_params(data: Data) -> bool:
    return bytes(data[:16]) == PARAMS_MAGIC


def scan_params(data: Data, ctx: ScanContext) -> None:
    count = int.from_bytes(bytes(data[16:24]), "little") if len(data) >= 24 else None
    report_not_analysed(ctx, MXNET_PARAMS, counted(count, "array") if count is not None else "")
