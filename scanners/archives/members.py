"""What every container scanner checks of a member, whatever the container: its name (path
traversal, links that leave the extraction directory) and its size against the limits (per
member, compression ratio, the file's decompression budget, members per archive, time).

Members are read into memory, never extracted to disk. Findings about one member (its name, its
data, a limit it hit) are reported on that member (`ctx.child(name)`), findings about the
archive as a whole on the archive.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from aisbom.scanners.frame.context import Data, ScanContext
from aisbom.wording import agree, counted

_EXAMPLES = 5  # member names quoted in aggregated findings


@dataclass(frozen=True)
class Cap:
    """At most `size` bytes of one member are read; `limit` names the Limits field that set it."""

    size: int
    limit: str


def member_cap(ctx: ScanContext, packed_size: int | None = None, *, ratio: bool = True) -> Cap:
    """How many bytes of one member may be read into memory.

    `packed_size` is given for compressed data: then the compression ratio (above
    Limits.ratio_floor, and unless `ratio` is False: data that cannot hold code) and what is
    left of the per-file decompression budget bound it too.
    """
    limits = ctx.limits
    caps = [
        Cap(limits.max_member_size, "max_member_size"),
        Cap(limits.max_in_memory, "max_in_memory"),
    ]
    if packed_size is not None:
        if ratio:
            caps.append(Cap(max(limits.ratio_floor, packed_size * limits.max_ratio), "max_ratio"))
        caps.append(Cap(max(0, limits.max_total_unpacked - ctx.budget.unpacked), "max_total_unpacked"))
    return min(caps, key=lambda cap: cap.size)


def report_cut(
    ctx: ScanContext,
    what: str,
    cap: Cap,
    *,
    packed_size: int | None = None,
    declared_size: int | None = None,
    offset: int | None = None,
    refused: bool = False,
) -> None:
    """Report a HIGH `scan-limit`: `what` holds more than `cap.size` bytes, so only that many
    were analysed (none if `refused`: it was not decompressed at all)."""
    value = getattr(ctx.limits, cap.limit)
    if cap.limit == "max_ratio":
        why = f"more than {value}x its compressed size of {packed_size} bytes (max_ratio)"
    elif cap.limit == "max_total_unpacked":
        why = f"more than the {value}-byte decompression budget of the file (max_total_unpacked)"
    else:
        why = f"more than {value} bytes ({cap.limit})"
    analysed = 0 if refused else cap.size
    evidence = {"limit": cap.limit, "limit_value": str(value), "bytes_analysed": str(analysed)}
    if packed_size is not None:
        evidence["compressed_size"] = str(packed_size)
    if declared_size is not None:
        evidence["declared_size"] = str(declared_size)
    verb = "holds" if packed_size is None else "decompresses to"
    done = "it was not analysed" if refused else f"only its first {cap.size} bytes were analysed"
    ctx.report("scan-limit", f"{what} {verb} {why}; {done}", offset=offset, evidence=evidence)


_DRIVE = re.compile(r"^[A-Za-z]:")


def path_problem(name: str) -> str | None:
    """Why extracting a member called `name` would write outside the target, or None.

    Backslashes count as separators (Windows extractors treat them so), and a segment of only
    dots and spaces with two or more dots counts as '..' (Windows trims trailing dots/spaces).
    """
    norm = name.replace("\\", "/")
    if norm.startswith("/"):
        return "absolute path"
    if _DRIVE.match(norm):
        return "Windows drive letter"
    for segment in norm.split("/"):
        if segment.count(".") >= 2 and not segment.strip(". "):
            return "'..' segment"
    return None


def check_name(ctx: ScanContext, name: str, kind: str = "member name") -> bool:
    """Report `archive-path-traversal` on the member if `name` escapes; True if it does."""
    problem = path_problem(name)
    if problem is None:
        return False
    ctx.report(
        "archive-path-traversal",
        f"{kind} {name!r} escapes the extraction directory ({problem})",
        evidence={"name": name, "problem": problem},
    )
    return True


def link_problem(name: str, target: str) -> str | None:
    """Why a symlink `name` -> `target` points outside the extraction directory, or None."""
    norm = target.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return path_problem(norm)
    base = posixpath.dirname(name.replace("\\", "/"))
    return path_problem(posixpath.normpath(posixpath.join(base, norm)))


def report_link(ctx: ScanContext, name: str, target: str) -> None:
    problem = link_problem(name, target)
    if problem is not None:
        ctx.report(
            "archive-path-traversal",
            f"symlink {name!r} points to {target!r}, outside the extraction directory ({problem})",
            evidence={"name": name, "target": target},
        )


def examples(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_EXAMPLES])
    return shown + (f" and {len(names) - _EXAMPLES} more" if len(names) > _EXAMPLES else "")


def out_of_time(ctx: ScanContext, done: int, total: int | None) -> bool:
    if not ctx.out_of_time():
        return False
    rest = f"{total - done} of {counted(total, 'member')}" if total is not None else "the remaining members"
    ctx.report(
        "scan-limit",
        f"time limit of {ctx.limits.max_seconds_per_file:g}s per file reached; {rest} "
        f"{agree(total - done if total is not None else 2, 'was', 'were')} not analysed",
        evidence={"limit": "max_seconds_per_file"},
    )
    return True


def too_many(ctx: ScanContext, count: int) -> None:
    ctx.report(
        "scan-limit",
        f"more than {ctx.limits.max_members} members; only the first {count} were analysed",
        evidence={"limit": "max_members", "limit_value": str(ctx.limits.max_members)},
    )


def all_zero(data: Data, start: int, end: int | None = None) -> bool:
    """True if data[start:end] holds only zero bytes (checked a chunk at a time)."""
    stop = len(data) if end is None else min(end, len(data))
    step = 1024 * 1024
    return not any(data[at : min(at + step, stop)].strip(b"\x00") for at in range(start, stop, step))
