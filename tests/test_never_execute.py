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


def test_the_check_itself_catches_a_loader_call():
    assert FORBIDDEN.search("obj = pickle.load(handle)")
    assert FORBIDDEN.search("np.load(path, allow_pickle=True)")
    assert FORBIDDEN.search("template.render(messages=m)")
    assert not FORBIDDEN.search("run_pickle(data)")
