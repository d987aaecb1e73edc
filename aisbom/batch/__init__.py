"""`aisbom batch`: scan many targets into one index.

targets.py reads the list, identity.py says cheaply which revision of a target is there now,
job.py is what one worker does for one target (resolve, scan, render: the same pipeline as
`aisbom scan`), index.py keeps DIR/index.jsonl and the per-target files, run.py drives an engine
(engines/: a local process pool, or Ray) and writes each result as it arrives.
"""

# With --engine ray, a local directory larger than this many MB is scanned in parts of at most
# that size (parts.py), and of at most PART_FILES files: a directory of many small files (a
# dataset) splits too. Here, not in parts.py, so that the command's help costs no import.
DEFAULT_SPLIT_MB = 4000
PART_FILES = 1000
