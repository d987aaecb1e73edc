"""Java serialized objects are identified and reported as not analysed."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from builders.java_streams import java_integer

from aisbom.severity import Severity


def test_a_java_serialized_object_is_identified_and_reported_not_analysed(scan_bytes):
    fmt, findings = scan_bytes(java_integer())
    assert fmt == "java-serialized"
    (finding,) = findings
    assert finding.rule == "format-not-analysed" and finding.severity is Severity.HIGH
    assert dict(finding.evidence) == {
        "format": "Java serialized object stream",
        "detail": "first object: java.lang.Integer",
    }


def test_a_stream_that_starts_otherwise_is_still_reported(scan_bytes):
    fmt, findings = scan_bytes(b"\xac\xed\x00\x05\x77\x04\x00\x00\x00\x01")  # block data first
    assert fmt == "java-serialized" and [f.rule for f in findings] == ["format-not-analysed"]


READER = """
import java.io.*;
public class Read {
    public static void main(String[] args) throws Exception {
        try (ObjectInputStream in = new ObjectInputStream(new FileInputStream(args[0]))) {
            Object o = in.readObject();
            System.out.println(o.getClass().getName() + " " + o);
        }
    }
}
"""


@pytest.mark.skipif(shutil.which("javac") is None, reason="no JDK")
def test_the_stream_is_what_object_input_stream_reads(tmp_path):
    (tmp_path / "Read.java").write_text(READER)
    (tmp_path / "x.ser").write_bytes(java_integer(42))
    subprocess.run(["javac", "Read.java"], cwd=tmp_path, check=True, timeout=120)
    command = ["java", "-cp", ".", "Read", "x.ser"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "java.lang.Integer 42", result.stderr
