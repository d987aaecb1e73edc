"""Keras models, installed as `aisbom.scanners.keras`, read as data and never loaded.

`model_files`: Keras 3 `.keras` zips, HDF5 (`.h5`) models and JSON model configs; `config`: the one
walker of a Keras config (Lambda bytecode, references to objects outside Keras, custom objects),
which TensorFlow's Keras metadata also goes through; `names`: Keras's built-in classes and
functions.
"""
