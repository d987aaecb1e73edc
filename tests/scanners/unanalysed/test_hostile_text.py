"""Recognising Darknet and Caffe text takes time linear in the bytes it looks at: a run of
blank lines made the Darknet pattern backtrack exponentially (a fuzzed tar member hung the
scan) and the Caffe patterns quadratically (22 s for 64 KiB of newlines, on every text file)."""

from __future__ import annotations

import time

import pytest

from aisbom.scanners.frame.sniff import sniff
from aisbom.scanners.unanalysed.caffe import is_prototxt
from aisbom.scanners.unanalysed.darknet import layer_sections

BLANK = {
    "newlines": b"\n" * 65_000 + b"x",
    "spaced lines": b" \n" * 32_000 + b"x",
    "tabs and newlines": b"\t\n\r\n" * 16_000 + b"[x]",
}


@pytest.mark.parametrize("name", list(BLANK))
def test_blank_lines_are_recognised_as_nothing_in_linear_time(name):
    data = BLANK[name]
    started = time.process_time()
    assert layer_sections(data) is None
    assert not is_prototxt(data)
    assert sniff(data) == "text"
    assert time.process_time() - started < 5


def test_darknet_and_caffe_text_are_still_recognised():
    assert layer_sections(b"# yolo\n\n  [net]\nwidth=416\n[convolutional]\n \n[yolo]  \n") == 2
    assert layer_sections(b"\xef\xbb\xbf[network]\r\n[route]\r\n") == 1
    assert is_prototxt(b'name: "n"\nlayer {\n  name: "c"\n  type: "Convolution"\n  bottom: "data"\n}\n')
