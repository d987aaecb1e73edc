"""What a scan imports, and where: start-up is most of a small scan's time, so a local scan
leaves the network stack alone, a file without a template leaves the template analysis alone,
and the process that hands large files to its workers (aisbom.forked) imports no scanner: each
worker imports the checks it needs while it hashes its first file, and nothing of that outlives
the hash. Every scan here still finds what it must."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import FIXTURES, pickle_in_zip

MALICIOUS = (FIXTURES / "malicious" / "pickle" / "dotted_logging_os_system.pkl").read_bytes()
BENIGN = b"(lp0\nI1\naI2\na."  # a list of two ints, protocol 0


def scan_in_a_new_process(target: Path, before_judging: str = "None") -> dict:
    """scan_target in a fresh interpreter: the rules found per file, and what it imported."""
    script = f"""
import json, sys, threading
from pathlib import Path
from aisbom import pipeline
pipeline.between_passes = {before_judging}
report = pipeline.scan_target(Path(sys.argv[1]))
print(json.dumps({{
    "rules": {{f.path: sorted({{x.rule for x in f.findings}}) for f in report.files}},
    "sha256": {{f.path: f.sha256 for f in report.files}},
    "modules": sorted(sys.modules),
}}))
"""
    done = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout)
    return result


def test_large_files_are_judged_by_workers_and_their_parent_imports_no_scanner(tmp_path: Path) -> None:
    (tmp_path / "a.pt").write_bytes(pickle_in_zip(MALICIOUS, 3 << 20))
    (tmp_path / "b.pt").write_bytes(pickle_in_zip(BENIGN, 2 << 20))
    result = scan_in_a_new_process(tmp_path)
    # Each worker's first file: its checks were imported while it was hashed, and still ran.
    assert "pickle-dangerous-global" in result["rules"]["a.pt"]
    assert "pickle-dangerous-global" not in result["rules"]["b.pt"]
    assert all(result["sha256"].values())
    imported = set(result["modules"])
    assert "aisbom.scanners.frame.dispatch" not in imported
    assert not any(m.startswith("aisbom.scanners.pickles") for m in imported)


def test_no_thread_outlives_the_hash_of_a_large_file(tmp_path: Path) -> None:
    """The checks are imported on a thread while the file is hashed: joined before the file is
    judged, so a worker never forks, or dies, with a thread half-way through an import."""
    (tmp_path / "model.pt").write_bytes(pickle_in_zip(MALICIOUS, 3 << 20))
    seen = tmp_path.parent / f"{tmp_path.name}-threads"
    hook = f"lambda path: open({str(seen)!r}, 'a').write(f'{{threading.active_count()}}\\n')"
    result = scan_in_a_new_process(tmp_path, hook)
    assert seen.read_text().split() == ["1"]  # one file, judged once, by a worker's only thread
    assert "pickle-dangerous-global" in result["rules"]["model.pt"]


def test_a_local_scan_imports_neither_the_network_nor_the_template_analysis(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"architectures": ["Bert"], "hidden_size": 8}')
    (tmp_path / "notes.txt").write_text("plain text without any template markers\n")
    (tmp_path / "model.pkl").write_bytes(MALICIOUS)
    result = scan_in_a_new_process(tmp_path)
    assert "pickle-dangerous-global" in result["rules"]["model.pkl"]
    imported = set(result["modules"])
    for module in ("aisbom.sources.hf", "aisbom.sources.network", "ssl", "jinja2"):
        assert module not in imported, module
    assert "aisbom.scanners.templates.jinja_analysis" not in imported


def test_a_template_is_still_analysed_once_one_is_found(tmp_path: Path) -> None:
    template = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    (tmp_path / "chat_template.jinja").write_text(template)
    result = scan_in_a_new_process(tmp_path)
    for name in ("tokenizer_config.json", "chat_template.jinja"):
        assert "template-injection" in result["rules"][name], result["rules"]
