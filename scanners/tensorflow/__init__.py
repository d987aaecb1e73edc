"""TensorFlow and TensorFlow Lite, installed as `aisbom.scanners.tensorflow`, read without either.

`graph`: SavedModel, frozen GraphDef and Keras SavedModel metadata, every op of every graph and
function checked; `ops`: the op tables and verdicts they share with TFLite's Flex ops and with
Keras configs; `sniffing`: which protobufs are TensorFlow's; `tflite`: TFLite FlatBuffers.
"""
