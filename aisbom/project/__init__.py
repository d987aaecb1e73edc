"""A project's AI asset inventory: what the user declares, what aisbom resolved, what changed.

Three files in the user's repository, each with one job:
- `aisbom.toml` (`manifest`): the declared assets (models, datasets, prompts, configs), their
  relations and the system that uses them. Written by people and by `aisbom add`, which keeps
  their comments and layout.
- `aisbom.lock` (`lock`): what aisbom resolved and checked for each asset: source, revision,
  acquisition time, every file's SHA-256, size, format and scan findings. Rewritten whole,
  deterministically, so it diffs well.
- `aisbom-audit.jsonl` (`audit`): an append-only, hash-chained log of every change of a prompt
  or config (old and new SHA-256, UTC time) and of every asset added, accepted into the lock or
  removed.

All three are committed, so a pull request can write anything into them: every value read back
is checked (`values`) before it is used as a path or anything else.

Layers, each importing only those before it: `values`, `clock`, `manifest`, `audit`, `tree`, `lock`
-> `acquire` (sources + scan) -> `status` -> `workspace` (the operations the commands run)
-> `system_bom` (the CycloneDX BOM of the whole system).
"""
