"""The denylist that sharpens severities is built from what the standard library and the common
ML packages contain (fixtures/denylist_walk.py, a static walk of their source), not from memory;
the committed table is that walk's output."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from aisbom.scanners.pickles.policy import _GENERATED, generated_categories, judge

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"

# Command runners no hand-written denylist named (issue #12), with what they reach.
EXAMPLES = {
    ("imaplib", "IMAP4_stream"): "network",  # __init__ -> open() -> socket / subprocess.Popen
    ("doctest", "debug_script"): "exec",
    ("torch.utils.collect_env", "run"): "process",
    ("joblib.externals.cloudpickle", "loads"): "unpickle",  # joblib < 1.5: pickle.loads
    ("pip", "main"): "import",
}


@pytest.mark.parametrize("key", EXAMPLES, ids=lambda k: ".".join(k))
def test_the_table_names_real_command_runners(key: tuple[str, str]) -> None:
    assert EXAMPLES[key] in generated_categories(*key)
    assert judge(*key).dangerous


def test_the_table_says_where_it_comes_from() -> None:
    header = [line for line in _GENERATED.read_text().splitlines() if line.startswith("#")]
    assert any("standard library" in line for line in header)
    for package in ("torch", "numpy", "sklearn", "joblib", "transformers"):
        assert any(line.startswith(f"#   {package} ") for line in header), package


STDLIB_SAMPLE = {
    "imaplib",
    "doctest",
    "pty",
    "subprocess",
    "os",
    "shutil",
    "socket",
    "code",
    "pdb",
    "bdb",
    "cmd",
    "pickle",
    "runpy",
    "tempfile",
    "smtplib",
    "ftplib",
    "webbrowser",
    "pydoc",
}


def test_the_table_is_current_for_this_pythons_standard_library() -> None:
    header = _GENERATED.read_text().split("\n", 4)[3]
    if f"CPython {platform.python_version()} " not in header:
        pytest.skip(f"the table was generated on another Python ({header.strip('# ')})")
    fresh, _ = _walker().build([], only=STDLIB_SAMPLE, packages=False)
    missing = sorted(
        f"{module}.{name} ({category})"
        for (module, name), categories in fresh.items()
        for category in categories
        if module.split(".")[0] in STDLIB_SAMPLE and category not in generated_categories(module, name)
    )
    assert not missing, f"rerun fixtures/denylist_walk.py: {missing[:20]}"


def _walker():
    sys.path.insert(0, str(FIXTURES))
    try:
        import denylist_walk
    finally:
        sys.path.remove(str(FIXTURES))
    return denylist_walk


def test_what_a_class_factory_made_is_not_a_command_runner() -> None:
    # `_CacheInfo = namedtuple(...)` names a class: calling it does not run namedtuple's exec,
    # so lru_cache and everything that calls it (sklearn's check_array) are not exec.
    for key in (
        ("functools", "lru_cache"),
        ("decimal", "DecimalTuple"),
        ("sklearn.utils.validation", "check_array"),
    ):
        assert "exec" not in generated_categories(*key), key
    # What a ctypes prototype made runs native code when called; a loaded library is native.
    assert "native" in generated_categories("ctypes", "cast")
    assert "native" in generated_categories("xgboost.core", "_LIB")


def test_star_imports_of_modules_not_walked_resolve_in_few_names(tmp_path: Path) -> None:
    # torch's shape: the package star-imports a C extension (not walked) and a submodule that
    # star-imports it too. Each name once: the walk once made a new, longer name at each depth
    # (pkg._C._C._VF._C...) and passed 5 GB.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from pkg._C import *\nfrom pkg._C import _VF\nfrom pkg.functional import *\n"
        "def run(c):\n    return _VF.anything(c)\n"
    )
    (package / "functional.py").write_text(
        "import os\nfrom pkg._C import *\nfrom pkg._C import _VF\n"
        "def shell(c):\n    _VF.other(c)\n    return os.system(c)\n"
    )
    walk = _walker()
    program = walk.Program()
    program.add_tree(package, "pkg")
    table = program.table()
    assert table[("pkg", "shell")] == {"process"}  # re-exported by the package's star import
    assert ("pkg", "run") not in table
    assert len(program._resolved) < 20, sorted(program._resolved)  # 8; 77 before


def test_the_table_is_sorted_so_one_modules_lines_are_found_by_bisection() -> None:
    """generated_categories finds a module's lines by binary search: the generator must write
    them sorted, header apart."""
    lines = [line for line in _GENERATED.read_bytes().split(b"\n") if line and not line.startswith(b"#")]
    assert lines == sorted(lines)
    assert generated_categories("imaplib", "IMAP4_stream") == {"network"}
    assert generated_categories("imaplib", "IMAP4_stream.open") == {"file-write", "process"}
    assert not generated_categories("imaplib", "IMAP4_stream.op")  # whole names only
    assert not generated_categories("imaplib_", "IMAP4")  # whole modules only
