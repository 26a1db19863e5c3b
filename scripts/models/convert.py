"""Converts a TensorFlow Lite face embedding model to ONNX for OpenCV's DNN module.

usage: convert.py MODEL.tflite OUT.onnx RESHAPE_NAME=D0,D1 ...

tflite2onnx keeps the .tflite file's fixed batch size. OpenCV runs one face at
a time, so the batch dimension of every graph input and output becomes 1, and
each named reshape constant gets the shape given.
"""
import sys

import numpy as np
import onnx
import tflite2onnx
from onnx import numpy_helper


def main(src, dst, reshapes):
    tflite2onnx.convert(src, dst)
    model = onnx.load(dst)
    for value in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        dims = value.type.tensor_type.shape.dim
        if len(dims) > 0 and dims[0].dim_value > 1:
            dims[0].dim_value = 1
    found = set()
    for i, init in enumerate(model.graph.initializer):
        if init.name in reshapes:
            old = numpy_helper.to_array(init)
            new = np.array(reshapes[init.name], dtype=old.dtype)
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(new, init.name))
            found.add(init.name)
    missing = set(reshapes) - found
    if missing:
        sys.exit("convert: no constant named %s in %s" % (", ".join(sorted(missing)), src))
    onnx.checker.check_model(model)
    onnx.save(model, dst)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    shapes = {}
    for arg in sys.argv[3:]:
        name, _, dims = arg.partition("=")
        shapes[name] = [int(d) for d in dims.split(",")]
    main(sys.argv[1], sys.argv[2], shapes)
