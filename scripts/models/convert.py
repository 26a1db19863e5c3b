"""Converts a TensorFlow Lite face model to ONNX for OpenCV's DNN module.

usage: convert.py MODEL.tflite OUT.onnx RESHAPE_NAME=D0,D1 ...

tflite2onnx keeps the .tflite file's fixed batch size. OpenCV runs one face at
a time, so the batch dimension of every graph input and output becomes 1, and
each named reshape constant gets the shape given.

tflite2onnx also writes each PReLU activation as relu(x) + m·(x − |x|), five
operations that OpenCV runs one after the other over the whole tensor. The
converter puts a single PRelu with slope 2m in their place: the same function
(for x < 0 both give 2m·x, exactly), which OpenCV fuses into the convolution
before it.

Models stored with float16 weights reach tflite2onnx 0.4.1 as a float16
constant and a DEQUANTIZE operation. The converter gives a PReLU's slope the
batch axis its NHWC to NCHW transposition needs, but not the float16 constant
behind it, and fails on that constant; a constant with fewer axes than its
layout is given leading axes of size 1 here (as broadcasting reads it), so
FaceMesh converts.
"""
import logging
import sys

import numpy as np
import onnx
import tflite2onnx
from onnx import numpy_helper
from tflite2onnx import tensor as t2o_tensor

_transform = t2o_tensor.Tensor.transform


def _transform_padded(self):
    """Tensor.transform, after giving a tensor missing leading axes ones."""
    axes = len(self.layout.perm)
    if len(self.shape) < axes:
        self.shape = [1] * (axes - len(self.shape)) + list(self.shape)
    _transform(self)


t2o_tensor.Tensor.transform = _transform_padded
# tflite2onnx warns of every float16 tensor that it has not been tested with
# them; check.py compares the result with the original, which says more.
logging.getLogger("tflite2onnx").addFilter(lambda r: "float16" not in r.getMessage())


def fuse_prelu(model):
    """Replaces relu(x) + reshape(m)·(x − |x|) with PRelu(x, 2m); returns how many."""
    g = model.graph
    consts = {i.name: i for i in g.initializer}
    by_output = {o: n for n in g.node for o in n.output}
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    fused, drop, new_inits = 0, set(), []
    for add in g.node:
        if add.op_type != "Add" or len(add.input) != 2:
            continue
        a, b = (by_output.get(i) for i in add.input)
        relu, mul = (a, b) if a is not None and a.op_type == "Relu" else (b, a)
        if relu is None or mul is None or relu.op_type != "Relu" or mul.op_type != "Mul":
            continue
        x = relu.input[0]
        m0, m1 = (by_output.get(i) for i in mul.input)
        reshape, sub = (m0, m1) if m0 is not None and m0.op_type == "Reshape" else (m1, m0)
        if reshape is None or sub is None or reshape.op_type != "Reshape" or sub.op_type != "Sub":
            continue
        if sub.input[0] != x or reshape.input[0] not in consts:
            continue
        absn = by_output.get(sub.input[1])
        if absn is None or absn.op_type != "Abs" or absn.input[0] != x:
            continue
        inner = [relu, absn, sub, reshape, mul]
        if any(len(users.get(o, [])) != 1 for n in inner for o in n.output):
            continue  # an intermediate value is used elsewhere
        m = numpy_helper.to_array(consts[reshape.input[0]]).astype(np.float32)
        slope_name = add.output[0] + "_prelu_slope"
        new_inits.append(numpy_helper.from_array((2 * m).reshape(-1, 1, 1), slope_name))
        add.op_type = "PRelu"
        del add.input[:]
        add.input.extend([x, slope_name])
        drop.update(id(n) for n in inner)
        fused += 1
    keep = [n for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(new_inits)
    used = {i for n in g.node for i in n.input}
    unused = [i for i in g.initializer if i.name not in used]
    for i in unused:
        g.initializer.remove(i)
    del g.value_info[:]  # shapes of removed values; OpenCV infers its own
    return fused


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
    print("convert: %d PReLU activations made single PRelu operations" % fuse_prelu(model))
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
