"""GGUF (llama.cpp) files, installed as `aisbom.scanners.gguf`: a bounded header parser, and the
chat templates its metadata carries, handed to the template analysis (`header`)."""
