"""Which symlinks of a Hugging Face cache snapshot are its content: the one rule every walk uses
(the scan's, aisbom.inventory; signing's and verification's, aisbom.signing.manifest).

huggingface_hub (`hf download`, transformers, aisbom's own hf://) keeps a repository as

    <cache>/models--ORG--NAME/            (datasets--ORG--NAME/, spaces--ORG--NAME/)
        blobs/<etag>                      each file's bytes once, named by its ETag
        snapshots/<commit>/<path>         one symlink per file, to ../../blobs/<etag>
        refs/<branch>

so every file of a snapshot is a link that leaves the snapshot. Inside a snapshot (or a
directory inside one), a link whose real path is a regular file directly in that repository's
own `blobs/` is the file: it is read, and named by its path in the snapshot. Any other link
(out of the snapshot, into another repository's blobs, into a directory) is judged as links
are everywhere else.
"""

from __future__ import annotations

from pathlib import Path

_REPO_DIRS = ("models--", "datasets--", "spaces--")


def snapshot_blobs(root: Path) -> Path | None:
    """The real path of the `blobs/` directory of the repository whose snapshot holds `root`
    (a resolved path: the target of a walk), or None when `root` is in no snapshot."""
    for snapshot in (root, *root.parents):
        repo = snapshot.parent.parent
        if snapshot.parent.name == "snapshots" and repo.name.startswith(_REPO_DIRS):
            blobs = repo / "blobs"
            return blobs.resolve() if blobs.is_dir() else None
    return None


def is_snapshot_link(real: str | Path, blobs: Path | None) -> bool:
    """True if a link that resolves to `real` is a file of the snapshot whose blobs are `blobs`."""
    return blobs is not None and Path(real).parent == blobs
