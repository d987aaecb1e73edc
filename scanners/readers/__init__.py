"""Bounded readers shared by the scanners, installed as `aisbom.scanners.readers`.

Each reads one low-level encoding and checks every length against the bytes it has: a zip's
directory and members (`zip_reader`), the protobuf wire format (`protobuf_wire`), marshalled
Python code (`marshal_code`), element counts from declared dimensions (`dimensions`), HDF5
attributes in a child process that a crash of libhdf5 cannot take down with us
(`hdf5_attributes`, run through `child_process`).
"""
