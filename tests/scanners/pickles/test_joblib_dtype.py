"""joblib array sizes come from the dtype as numpy resolves it (numpy.dtype('float64') is 8 bytes
an item, not 64), so the stream after an array is read where joblib.load reads it."""

from __future__ import annotations

import pytest
from catalog import FIXTURES_DIR

from aisbom.pipeline import scan_target
from aisbom.scanners.pickles.numpy_arrays import pickled_itemsize

np = pytest.importorskip("numpy")

NAMES = ["f8", "float64", "<f4", "float", "double", "int", "longlong", "uint8", "b1", "?", "e", "float16",
         "complex128", "i4", "U5", "<U2", "S", "bytes", "str", "void", "V8"]  # fmt: skip


@pytest.mark.parametrize("elsize", [-1, 1, 7, 64])
@pytest.mark.parametrize("typestr", NAMES)
def test_item_size_is_numpys(typestr, elsize):
    """numpy.dtype(typestr, False, True).__setstate__((3, '<', ..., elsize, ...)), as unpickling does."""
    dtype = np.dtype(typestr, False, True)
    dtype.__setstate__((3, "<", None, None, None, elsize, 1, 0))
    if dtype.itemsize > 0:
        assert pickled_itemsize(typestr, elsize) == dtype.itemsize


def test_the_payload_after_a_float64_array_is_found():
    report = scan_target(FIXTURES_DIR / "malicious" / "joblib" / "dtype_by_name.joblib")
    assert any(f.rule == "pickle-dangerous-global" for f in report.findings)
