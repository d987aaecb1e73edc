"""Product code parses bytes; it never loads, imports or renders what it scans."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRODUCT = [REPO / "aisbom", REPO / "scanners", REPO / "signing"]

FORBIDDEN = re.compile(
    r"\b(pickle|cPickle|_pickle|dill|cloudpickle|joblib|torch|marshal)\.loads?\("
    r"|allow_pickle\s*=\s*True"
    r"|load_model\("
    r"|jit\.load\("
    r"|Unpickler\("
    r"|\.render\("
    r"|__import__\("
    r"|importlib\.import_module\("
    r"|\beval\(|\bexec\("
)


def test_no_loader_calls_in_product_code():
    offenders = []
    for root in PRODUCT:
        for path in root.rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if FORBIDDEN.search(line) and "# safe:" not in line:
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# The one exception: `aisbom convert --sandbox` runs a natural loader, in a bubblewrap jail, in
# this module, which nothing imports: sandbox.py starts it with `python -I -m` inside bwrap.
JAILED_CHILD = REPO / "aisbom/convert/sandbox_child.py"
LOADER = re.compile(
    r"\b(pickle|cPickle|_pickle|dill|cloudpickle|joblib|torch|jit)\.load\(|allow_pickle\s*=\s*True|load_model\("
)


def test_loaders_are_called_only_by_the_jailed_child():
    callers = set()
    for root in PRODUCT:
        for path in root.rglob("*.py"):
            if LOADER.search(path.read_text()):
                callers.add(path.relative_to(REPO).as_posix())
    assert callers == {"aisbom/convert/sandbox_child.py"}


def test_the_jailed_child_is_started_only_inside_bubblewrap():
    mentions = []
    for root in PRODUCT:
        for path in root.rglob("*.py"):
            if path != JAILED_CHILD and "sandbox_child" in path.read_text():
                mentions.append(path.relative_to(REPO).as_posix())
    assert mentions == ["aisbom/convert/sandbox.py"]  # no import: only the module name, run by bwrap
    sandbox = (REPO / "aisbom/convert/sandbox.py").read_text()
    assert "import sandbox_child" not in sandbox and "from aisbom.convert.sandbox_child" not in sandbox
    command = sandbox[sandbox.index("command = [\n        bwrap,") :]
    assert command.index("bwrap") < command.index('"aisbom.convert.sandbox_child"')


def test_the_check_itself_catches_a_loader_call():
    assert FORBIDDEN.search("obj = pickle.load(handle)")
    assert FORBIDDEN.search("np.load(path, allow_pickle=True)")
    assert FORBIDDEN.search("template.render(messages=m)")
    assert FORBIDDEN.search("torch.jit.load(path)") and LOADER.search("torch.jit.load(path)")
    assert not FORBIDDEN.search("run_pickle(data)")
