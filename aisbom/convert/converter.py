"""`aisbom convert`: a checkpoint (or a sharded Hugging Face checkpoint) to safetensors.

What is converted and where it goes:
- a file -> OUT (a file), or OUT/NAME.safetensors when OUT is a directory;
- a Hugging Face directory or index (`pytorch_model.bin.index.json` and its shards) -> OUT, a
  directory: each shard as `model-0000x-of-0000y.safetensors` and `model.safetensors.index.json`;
  a directory with a single `pytorch_model.bin` -> OUT/model.safetensors.

Every input file is scanned first and read only when its scan is clean; all outputs are staged
and committed together, so an error leaves nothing behind. Each output records in its metadata
the file it was made from, that file's SHA-256 and how it was read (static or sandboxed): the
scanner reports it, and `aisbom bom` of the converted model links back to the source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aisbom.convert.errors import ConversionError
from aisbom.convert.output import plan
from aisbom.convert.safetensors_file import Source, Staging, write_safetensors
from aisbom.convert.source import scan_file, scanned
from aisbom.convert.static import FRAMEWORKS, read_static
from aisbom.limits import Limits, MiB
from aisbom.scanners.safetensors.header import METHOD_KEY, SOURCE_KEY, SOURCE_SHA256_KEY

HF_WEIGHTS = "pytorch_model.bin"
HF_INDEX = "pytorch_model.bin.index.json"
_MAX_INDEX = 64 * MiB
# How an output was made: read from the bytes, or loaded by its own loader in the jail.
STATIC = "static"
SANDBOXED = "sandboxed"


@dataclass(frozen=True)
class Converted:
    source: Path
    output: Path
    names: tuple[str, ...]  # the tensors written
    nbytes: int  # tensor bytes written
    aliases: dict[str, str]  # tied names not written -> the name written
    values: tuple[str, ...]  # names of the non-tensor values kept as metadata
    method: str = STATIC
    notes: tuple[str, ...] = ()  # what the user should know about how it was made


@dataclass(frozen=True)
class Job:
    """One input file and the output it becomes."""

    source: Path
    output: Path


@dataclass(frozen=True)
class Index:
    """A sharded checkpoint's index: the tensor names it lists, its SHA-256, where its successor goes."""

    source: Path
    output: Path
    names: frozenset[str]
    sha256: str


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    index: Index | None = None


def output_name(name: str) -> str:
    """pytorch_model.bin -> model.safetensors; pytorch_model-00001-of-00002.bin ->
    model-00001-of-00002.safetensors; pytorch_model.bin.index.json -> model.safetensors.index.json;
    other names keep their stem."""
    if name.endswith(".index.json"):
        return output_name(name[: -len(".index.json")]) + ".index.json"
    if name.startswith("pytorch_model") and name.endswith(".bin"):
        return "model" + name[len("pytorch_model") : -len(".bin")] + ".safetensors"
    stem, dot, _ = name.rpartition(".")
    return (stem if dot and stem else name) + ".safetensors"


def plan_jobs(src: Path, out: Path, limits: Limits) -> Plan:
    if src.is_dir():
        if (src / HF_INDEX).is_file():
            return _sharded(src / HF_INDEX, out, limits)
        if (src / HF_WEIGHTS).is_file():
            named = out.suffix == ".safetensors" and not out.is_dir()  # -o names the file itself
            return Plan((Job(src / HF_WEIGHTS, out if named else out / "model.safetensors"),))
        raise ConversionError(
            f"has neither {HF_INDEX} nor {HF_WEIGHTS}; name the file to convert", path=str(src)
        )
    if not src.is_file():
        raise ConversionError("does not exist", path=str(src))
    if src.name.endswith(".index.json"):
        return _sharded(src, out, limits)
    target = out / output_name(src.name) if out.is_dir() else out
    return Plan((Job(src, target),))


def _sharded(index: Path, out: Path, limits: Limits) -> Plan:
    """The shards an index names (scanned like any input: a crafted index is refused too)."""
    if out.exists() and not out.is_dir():
        raise ConversionError(f"{out} must be a directory for a sharded checkpoint")
    report = scan_file(index, limits)
    try:
        doc = json.loads(index.read_bytes()[:_MAX_INDEX])  # safe: JSON data, scanned clean above
    except (OSError, ValueError, RecursionError) as exc:
        raise ConversionError(f"cannot read {index.name}: {exc}") from None
    weight_map = doc.get("weight_map") if isinstance(doc, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise ConversionError(f"{index.name} has no weight_map")
    for name, shard in weight_map.items():
        if not isinstance(shard, str) or not shard or "/" in shard or "\\" in shard or shard in (".", ".."):
            raise ConversionError(f"{index.name} maps {name!r} to {shard!r}, not a file beside it")
    shards = sorted(set(weight_map.values()))
    jobs = tuple(Job(index.parent / shard, out / output_name(shard)) for shard in shards)
    sha256 = report.files[0].sha256 or ""
    return Plan(jobs, Index(index, out / output_name(index.name), frozenset(weight_map), sha256))


def convert(src: Path, out: Path, *, limits: Limits | None = None) -> list[Converted]:
    """Convert statically. Raises UnsafeInput (the scan is not clean), NeedsCode or
    ConversionError; nothing is written unless every output is."""
    limits = limits or Limits()
    plan_ = plan_jobs(src, out, limits)
    if any(job.output.resolve() == job.source.resolve() for job in plan_.jobs):
        raise ConversionError("the output would replace the input")
    for job in plan_.jobs:
        make_directory_of(job.output)
    done: list[Converted] = []
    with Staging() as staging:
        for job in plan_.jobs:
            done.append(_convert_one(job, staging, limits))
        if plan_.index is not None:
            write_index(plan_.index, done, staging, STATIC)
    return done


def make_directory_of(output: Path) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a directory should be, no permission ...
        raise ConversionError(f"cannot write {output}: {exc.strerror or exc}") from None


def _convert_one(job: Job, staging: Staging, limits: Limits) -> Converted:
    with scanned(job.source, limits) as source:
        flat = read_static(source, limits)
        provenance = source_record(source.path, source.result.sha256 or "", STATIC)
        planned = plan(flat, framework=FRAMEWORKS.get(source.format), provenance=provenance)
        total = sum(t.nbytes for t in planned.tensors)
        if total > limits.max_conversion_growth * len(source.data) + MiB:
            raise ConversionError(
                f"its tensors would take {total} bytes, more than {limits.max_conversion_growth} times the "
                f"file's {len(source.data)} (views that repeat the same bytes)"
            )
        staged = staging.stage(job.output)
        write_safetensors(staged.handle, planned.tensors, planned.metadata, Source(source.data, source.fd))
    return Converted(
        source=job.source,
        output=job.output,
        names=tuple(t.name for t in planned.tensors),
        nbytes=total,
        aliases=planned.aliases,
        values=tuple(flat.values),
    )


def source_record(path: Path, sha256: str, method: str) -> dict[str, str]:
    """The metadata that says what an output was made from, and how."""
    return {SOURCE_KEY: path.name, SOURCE_SHA256_KEY: sha256, METHOD_KEY: method}


def write_index(index: Index, done: list[Converted], staging: Staging, method: str) -> None:
    """The safetensors index, from what the shards hold; the old index must list the same names."""
    weight_map = {name: c.output.name for c in done for name in (*c.names, *c.aliases)}
    if set(weight_map) != index.names:
        differ = sorted(index.names ^ set(weight_map))[:3]
        raise ConversionError(
            f"{index.source.name} and its shards disagree about {', '.join(map(repr, differ))}"
        )
    metadata: dict[str, object] = {"total_size": sum(c.nbytes for c in done)}
    metadata.update(source_record(index.source, index.sha256, method))
    doc = {"metadata": metadata, "weight_map": dict(sorted(weight_map.items()))}
    staging.stage(index.output).handle.write((json.dumps(doc, indent=2) + "\n").encode())
