"""Detection on the fixture corpus, aisbom against peer scanners, in one run.

    python benchmarks/compare_detection.py [--bin DIR] [--tools T ...] [--by-family]

Each tool scans each fixture file (malicious and benign, from fixtures/catalog.py) in its own
process with a timeout. A tool "flags" a file when its exit status says it found something;
errors (crashes, unsupported formats) are counted apart, since a scanner that errors out has
not cleared the file. Peers are looked up on PATH, or in --bin (e.g. a venv's bin directory
where `pip install picklescan modelscan fickling modelaudit` was run).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from catalog import BENIGN, MALICIOUS  # noqa: E402

# tool -> (argv prefix, exit codes meaning "found something", exit codes meaning "clean")
TOOLS = {
    "aisbom": (["aisbom", "scan", "--no-progress"], {1}, {0}),
    "picklescan": (["picklescan", "-p"], {1}, {0}),
    "modelscan": (["modelscan", "-p"], {1}, {0}),
    "fickling": (["fickling", "--check-safety"], {1}, {0}),
    "modelaudit": (["modelaudit", "scan"], {1}, {0}),
}


def run(tool: str, path: Path, bin_dir: Path | None) -> str:
    argv, found, clean = TOOLS[tool]
    exe = shutil.which(argv[0], path=str(bin_dir) if bin_dir else None) or shutil.which(argv[0])
    if exe is None:
        return "absent"
    try:
        result = subprocess.run([exe, *argv[1:], str(path)], capture_output=True, timeout=120, cwd="/tmp")
    except subprocess.TimeoutExpired:
        return "error"
    if result.returncode in found:
        return "flag"
    if result.returncode in clean:
        return "clean"
    return "error"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bin", type=Path, help="directory holding the peer tools")
    parser.add_argument("--tools", nargs="*", default=list(TOOLS))
    parser.add_argument(
        "--by-family", action="store_true", help="also print a markdown table per format family"
    )
    args = parser.parse_args()
    results: dict[str, dict[str, str]] = {tool: {} for tool in args.tools}
    for tool in args.tools:
        for fixture in (*MALICIOUS, *BENIGN):
            results[tool][fixture.path] = run(tool, fixture.abspath, args.bin)
    print(
        f"{'tool':12} {'malicious flagged':>18} {'missed':>7} {'errors':>7} "
        f"{'benign flagged':>15} {'benign errors':>14}"
    )
    for tool, by_path in results.items():
        if all(v == "absent" for v in by_path.values()):
            print(f"{tool:12} (not installed)")
            continue
        mal = [by_path[f.path] for f in MALICIOUS]
        ben = [by_path[f.path] for f in BENIGN]
        print(
            f"{tool:12} {mal.count('flag'):>11}/{len(mal):<6} {mal.count('clean'):>7} "
            f"{mal.count('error'):>7} {ben.count('flag'):>8}/{len(ben):<6} {ben.count('error'):>14}"
        )
    if args.by_family:
        print_by_family(results)
    print("\nmalicious fixtures a tool did not flag (clean or error):")
    for fixture in MALICIOUS:
        missed = [t for t in results if results[t][fixture.path] not in ("flag", "absent")]
        if missed:
            print(f"  {fixture.path:58} {fixture.trick:26} missed by: {', '.join(missed)}")
    print("\nbenign fixtures a tool flagged:")
    for fixture in BENIGN:
        flagged = [t for t in results if results[t][fixture.path] == "flag"]
        if flagged:
            print(f"  {fixture.path:58} flagged by: {', '.join(flagged)}")


def print_by_family(results: dict[str, dict[str, str]]) -> None:
    """Markdown: per format family, malicious flagged / total and benign flagged / total."""
    tools = [t for t, by_path in results.items() if any(v != "absent" for v in by_path.values())]
    families = sorted({f.family for f in (*MALICIOUS, *BENIGN)})
    print("\n| family | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    for family in families:
        mal = [f.path for f in MALICIOUS if f.family == family]
        ben = [f.path for f in BENIGN if f.family == family]
        cells = []
        for tool in tools:
            flagged_mal = sum(results[tool][p] == "flag" for p in mal)
            flagged_ben = sum(results[tool][p] == "flag" for p in ben)
            cells.append(
                (f"{flagged_mal}/{len(mal)}" if mal else "–")
                + " · "
                + (f"{flagged_ben}/{len(ben)}" if ben else "–")
            )
        print(f"| {family} | " + " | ".join(cells) + " |")
    print("\n(each cell: malicious flagged / malicious · benign flagged / benign)")


if __name__ == "__main__":
    main()
