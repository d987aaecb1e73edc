"""safetensors files, installed as `aisbom.scanners.safetensors`: the header and the byte layout
of the tensors, read by hand and never through the library (`header`)."""
