"""`aisbom convert SRC -o OUT`: a checkpoint to safetensors, without running it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from aisbom.errors import AisbomError
from aisbom.severity import ExitCode
from aisbom.terminal_text import shown
from aisbom.wording import counted

EXAMPLES = """\b
Examples:
  aisbom convert model.pt -o model.safetensors   # read statically: nothing is unpickled
  aisbom convert ./checkpoint -o ./converted     # a directory of shards
  aisbom convert legacy.bin -o out.safetensors --sandbox
"""


@click.command(epilog=EXAMPLES)
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The .safetensors file to write, or a directory (required for a sharded checkpoint).",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Load what cannot be read statically with its own loader, in a bubblewrap jail (no network, "
    "read-only system, only the output directory writable, CPU-time and memory limits).",
)
@click.option(
    "--allow-code",
    is_flag=True,
    help="With --sandbox: let the jailed loader run the file's code (torch.load weights_only=False, "
    "pickle, TorchScript) when the safe loader refuses it. Only for files you trust.",
)
@click.option(
    "--cpu-limit",
    type=click.FloatRange(min=1),
    default=None,
    help="With --sandbox: CPU seconds the jailed loader may use (default: 300 plus 60 per GiB).",
)
@click.option(
    "--memory-limit",
    type=click.IntRange(min=256),
    default=None,
    help="With --sandbox: MiB of address space for the jailed loader (default: 8192 plus 3x the input).",
)
def convert(
    source: Path,
    output: Path,
    sandbox: bool,
    allow_code: bool,
    cpu_limit: float | None,
    memory_limit: int | None,
) -> None:
    """Convert SOURCE to safetensors, scanning it first.

    SOURCE is a PyTorch checkpoint (zip or legacy .pt/.pth/.bin), a Hugging Face directory or
    index with sharded pytorch_model-*.bin files, a NumPy .npy/.npz, a joblib or pickle file of
    plain arrays, or a Keras HDF5 weights file. It is scanned as `aisbom scan` scans it and refused
    unless the scan is clean; its tensors are then read from the bytes, the way the scanner reads
    the pickle, and written out: nothing is unpickled, torch is not needed.

    What needs code to rebuild (a class, a TorchScript program) is refused, unless --sandbox
    loads it with its own loader inside a jail. Exit status: 0 converted, 1 refused (unsafe, or
    needs code), 2 error (malformed input, no sandbox, cannot write).
    """
    from aisbom.convert.errors import NeedsCode, UnsafeInput

    if (allow_code or cpu_limit or memory_limit) and not sandbox:
        _fail("--allow-code, --cpu-limit and --memory-limit go with --sandbox", ExitCode.ERROR)
    try:
        if sandbox:
            from aisbom.convert.sandbox import SandboxLimits, convert_sandboxed

            limits = SandboxLimits.for_input(source, cpu_seconds=cpu_limit, memory_mib=memory_limit)
            done = convert_sandboxed(source, output, allow_code=allow_code, limits=limits)
        else:
            from aisbom.convert.converter import convert as convert_static

            done = convert_static(source, output)
    except UnsafeInput as exc:
        from aisbom.formats.interface import FormatOptions
        from aisbom.formats.text import TextFormat

        click.echo(TextFormat().format(exc.report, FormatOptions(color=sys.stdout.isatty())), nl=False)
        _fail(f"refused: {exc}", ExitCode.UNSAFE)
    except NeedsCode as exc:
        _fail(f"refused: {source}: {exc}", ExitCode.UNSAFE)
    except AisbomError as exc:
        _fail(f"error: {source}: {exc}" if not exc.path else f"error: {exc}", ExitCode.ERROR)
    for item in done:
        tied = f", {counted(len(item.aliases), 'tied name')} recorded as aliases" if item.aliases else ""
        kept = f", {counted(len(item.values), 'other value')} kept as metadata" if item.values else ""
        tensors = f"{counted(len(item.names), 'tensor')}, {_size(item.nbytes)}"
        click.echo(shown(f"{item.source} -> {item.output}: {tensors}{tied}{kept} [{item.method}]"))
        for note in item.notes:  # names the file and the jailed loader chose: escaped
            click.echo(f"  note: {shown(note)}")
    sys.exit(ExitCode.CLEAN)


def _fail(message: str, code: ExitCode) -> None:
    click.echo(shown(f"aisbom: {message}"), err=True)  # messages quote names from the file
    sys.exit(code)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return counted(n, "byte") if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"
