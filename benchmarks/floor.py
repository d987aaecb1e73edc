"""The least time any Python tool can take to hash a directory on every core, and to add a BOM
built with cyclonedx-python-lib: the floors that bench_jobs.py's `floor` job sets beside the
targets of issue 16.

    python benchmarks/floor.py DIR [--bom OUT.json [--check]] [--click] [--workers 2]

Nothing but what the job needs: the interpreter starts, forks the workers at once (no CLI, no
policy, no scanner, no report), and each maps its share of the files and hashes it with hashlib
in 8 MiB updates, as aisbom's workers do. With --bom, a third process forked first imports
cyclonedx-python-lib while the workers hash (the three share the cores), reads their digests
from a pipe and writes a BOM with one file component and its SHA-256 per file. It records
nothing else, so it is a lower bound for `aisbom bom`; with --check, the BOM is also
checked against the official schema before it is written, as DESIGN.md requires (by aisbom's
checker, `aisbom.bom.check`: jsonschema-rs). With --click, the directory is first taken from
the command line by a click command, as any CLI built on click (aisbom's, by its design) must.
Benchmark code only: aisbom never runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import sys
import traceback

UPDATE = 8 << 20


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size:
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
                for at in range(0, size, UPDATE):
                    digest.update(view[at : at + UPDATE])
    return digest.hexdigest()


def write_bom(paths: list[str], root: str, digests: tuple[int, int], output: str, check: bool) -> None:
    """In the BOM's own process: the library's import overlaps the hashing."""
    digests_from, digests_to = digests
    os.close(digests_to)  # the workers' end: the digests end when the last worker's closes
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    with os.fdopen(digests_from) as lines:
        digests = {path: digest for digest, path in (line.rstrip("\n").split(" ", 1) for line in lines)}
    bom = Bom()
    for path in paths:
        hashes = [HashType(alg=HashAlgorithm.SHA_256, content=digests[path])]
        bom.components.add(
            Component(name=os.path.relpath(path, root), type=ComponentType.FILE, hashes=hashes)
        )
    text = JsonV1Dot6(bom).output_as_string()
    if check:
        from aisbom.bom.check import schema_errors

        if problems := schema_errors(text, "1.6", strict=True):
            raise ValueError(f"the floor's BOM is not valid: {problems}")
    with open(output, "w", encoding="utf-8") as file:
        file.write(text)


def forked(run, *args) -> int:  # noqa: ANN001 - a benchmark's helper
    """`run(*args)` in a child process; its pid. A child that fails prints why, exits 1."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            run(*args)
            status = 0
        except BaseException:  # noqa: BLE001 - shown here, counted by the parent
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(status)
    return pid


def click_parsed(directory: str) -> str:
    import click

    @click.command()
    @click.argument("target", type=click.Path(exists=True))
    def scan(target: str) -> str:
        return target

    try:
        return scan.main([directory], standalone_mode=False)
    except click.ClickException as problem:
        problem.show()
        raise SystemExit(problem.exit_code) from None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory")
    parser.add_argument("--bom", help="also write a BOM of the files here")
    parser.add_argument("--check", action="store_true", help="check the BOM against the schema")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--click", action="store_true", help="parse the directory with click first")
    args = parser.parse_args()
    if args.check and not args.bom:
        parser.error("--check checks the BOM that --bom writes")
    if args.click:
        args.directory = click_parsed(args.directory)
    paths = sorted(os.path.join(root, name) for root, _, names in os.walk(args.directory) for name in names)
    children = []
    # The digests go to the BOM's process, or nowhere (the floor of a scan hashes only).
    digests_from, digests_to = os.pipe() if args.bom else (-1, os.open(os.devnull, os.O_WRONLY))
    if args.bom:
        pipe = (digests_from, digests_to)
        children.append(forked(write_bom, paths, args.directory, pipe, args.bom, args.check))
        os.close(digests_from)

    def hash_share(first: int) -> None:
        for path in paths[first :: args.workers]:
            os.write(digests_to, f"{sha256_of(path)} {path}\n".encode())

    children += [forked(hash_share, first) for first in range(args.workers)]
    os.close(digests_to)
    failed = [pid for pid in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])]
    if failed:
        raise SystemExit(f"{len(failed)} of the floor's processes failed")


if __name__ == "__main__":
    main()
