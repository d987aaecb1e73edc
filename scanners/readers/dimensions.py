"""Element counts from dimensions a file declares.

`math.prod` of n huge numbers is quadratic in n (each product is longer than the last): a
safetensors header listing 80,000 dimensions of 2**60 took 30 s, and a header may hold
millions. Every count a reader compares with a size limit stops growing once it passes it.
"""

from __future__ import annotations

from collections.abc import Iterable


def product_up_to(dims: Iterable[int], bound: int) -> int:
    """The product of the non-negative `dims` when it is below `bound`; otherwise a value of at
    least `bound` (not the product). Any zero makes it zero, as it makes the real product."""
    values = list(dims)
    if 0 in values:
        return 0
    product = 1
    for value in values:
        product *= value
        if product >= bound:
            return product
    return product
