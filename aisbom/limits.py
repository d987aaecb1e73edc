"""Resource limits: one dataclass, so every bound is visible and tunable in one place.

Hitting a limit is never a crash: the scanner that hits it reports a HIGH
`scan-limit` finding ("not fully analysed") and moves on, so an incomplete
scan can never exit 0.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Every bound of a scan; hitting one is a finding, never a crash."""

    # Decompressed bytes one archive member or compressed stream may produce.
    max_member_size: int = 2 * GiB
    # Decompressed bytes all containers of one top-level file may produce together.
    max_total_unpacked: int = 8 * GiB
    # Decompressed size over compressed size, per member (zip bombs compress ~1000:1), judged
    # only past ratio_floor decompressed bytes: below it, real data (boolean masks, sparse
    # arrays, dictionaries, zero-filled tensors) compresses far beyond any ratio, and the
    # member and total caps already bound what a bomb can cost.
    max_ratio: int = 200
    ratio_floor: int = 64 * MiB
    # Containers inside containers (zip in tar in gzip ...).
    max_depth: int = 8
    # Members of one archive that we look at.
    max_members: int = 100_000
    # Opcodes interpreted in one pickle stream.
    max_pickle_opcodes: int = 50_000_000
    # The pickle engine's own data for one stream (stack, memo, marks, containers and the
    # events it keeps), as an estimate in bytes: at most pickle_memory_per_byte times the
    # stream's size plus pickle_memory_floor, and never over max_pickle_memory. Every opcode
    # keeps a bounded amount, so only values copied over and over (and the hard cap) reach it.
    max_pickle_memory: int = 512 * MiB
    pickle_memory_per_byte: int = 256
    pickle_memory_floor: int = 64 * MiB
    # MARKs open at once. pickle.dumps recurses once per nesting level (Python's recursion
    # limit, ~1,000), so real pickles nest a few hundred deep at most.
    max_pickle_marks: int = 100_000
    # Findings kept for one top-level file; past it one scan-limit finding says how many more.
    max_findings_per_file: int = 10_000
    # Pickles stacked one after another in one stream (a loop of pickle.load calls reads them
    # all; the opcode limit and the time limit bound them too).
    max_stacked_pickles: int = 1_000_000
    # Wall-clock seconds spent scanning one top-level file.
    max_seconds_per_file: float = 300.0
    # Bytes of a member read into memory at once to scan it (larger ones are streamed or skipped).
    max_in_memory: int = 2 * GiB
    # numpy .npy header bytes (numpy itself refuses more than 10,000 by default).
    max_npy_header: int = 1 * MiB
    # Keras model configs (config.json, HDF5 model_config/training_config): characters of one
    # config, and values walked in it (the largest real configs hold a few hundred thousand).
    max_keras_config: int = 64 * MiB
    max_keras_config_nodes: int = 5_000_000
    # The short-lived child process that reads HDF5 attributes (libhdf5 is C code that crafted
    # files have crashed): its wall-clock seconds and address space, plus the file's size when
    # the file is handed over in memory.
    max_hdf5_seconds: float = 60.0
    max_hdf5_memory: int = 1 * GiB
    # ONNX: subgraphs (If/Loop/Scan bodies) inside subgraphs; exported models nest a few deep.
    max_onnx_graph_depth: int = 16
    # ONNX: nodes in all graphs and functions of one model (large LLM exports have ~100k).
    max_onnx_nodes: int = 1_000_000
    # ONNX: the model without its tensor payloads (graph structure, names, small constants).
    max_onnx_skeleton: int = 512 * MiB
    # ONNX: bytes one tensor may declare (dims x element size); above this a loader allocation
    # is a denial of service. The largest real tensors (LLM embeddings) are a few GiB.
    max_onnx_tensor_bytes: int = 64 * GiB
    # safetensors JSON header bytes (the safetensors library refuses more than 100 MB).
    max_safetensors_header: int = 100_000_000
    # Protobuf fields read from one TensorFlow file (a node is ~5; graphs rarely pass 1e6 nodes).
    max_proto_fields: int = 20_000_000
    # TFLite: tables read from one model (operator codes, operators, buffers, metadata entries);
    # real models have a few thousand operators, LLM exports some hundred thousand.
    max_tflite_tables: int = 10_000_000
    # Downloads of https:// targets (aisbom.sources): bytes of one file, and redirects followed.
    # Exceeding either is an error before anything is scanned, not a finding.
    max_download_size: int = 512 * GiB
    max_redirects: int = 10
    # Characters of one Jinja chat template (real ones are under 50 KB) and nodes of its syntax tree.
    max_template_chars: int = 1 * MiB
    max_template_nodes: int = 200_000
    # GGUF metadata: one string value, key/value pairs and tensor infos; arrays nested in arrays.
    max_gguf_string: int = 64 * MiB
    max_gguf_entries: int = 10_000_000
    max_gguf_array_depth: int = 8
    # JSON files searched for chat_template keys (tokenizer_config.json is a few MB at most).
    max_json_bytes: int = 64 * MiB
    # aisbom convert: tensor bytes written per byte of input (plus 1 MiB). Views that repeat one
    # storage's bytes (stride 0, overlapping) could otherwise fill the disk from a small file.
    max_conversion_growth: int = 4
    # Python code shipped with a model (modeling_*.py, handler.py ...): bytes of one file, syntax
    # tree nodes, and nesting depth (bandit walks the tree recursively). The largest real
    # modeling files are a few hundred KB.
    max_code_bytes: int = 16 * MiB
    max_code_nodes: int = 2_000_000
    max_code_depth: int = 200
    # Other Hugging Face repositories whose code a model imports (auto_map `org/repo--module.Class`)
    # looked up in the cache and scanned per scan; real models name one or two.
    max_code_repositories: int = 16
