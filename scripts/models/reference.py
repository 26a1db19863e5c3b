"""Records reference outputs of a face model on the fixed patterns.

usage: reference.py MODEL.tflite|MODEL.onnx INPUT SIZE MEAN SCALE OUTPUT=TOLERANCE ... > REFERENCE.json

Run by hand when a model is added or changed, never by make. A .tflite file is
run by the LiteRT interpreter (pip install ai-edge-litert==2.3.0), so that the
ONNX file converted from it is checked against the original; an .onnx file is
run by onnx's reference evaluator. The input is pattern (x - MEAN) * SCALE at
SIZE x SIZE pixels; each named output is recorded with the largest difference
a converted or reloaded model may show in it.
"""
import json
import os
import re
import sys

import numpy as np

from patterns import blob

PATTERNS = (0, 1, 2, 3)


def tflite_outputs(path, names, size, mean, scale):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=path)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    outs = {d["name"]: d["index"] for d in interp.get_output_details()}
    missing = [n for n in names if n not in outs]
    if missing:
        sys.exit("reference: %s has no output %s (it has %s)" % (path, ", ".join(missing), ", ".join(outs)))
    batch = inp["shape"][0]
    for seed in PATTERNS:
        x = blob(seed, mean, scale, size)[0].transpose(1, 2, 0)  # NHWC
        interp.set_tensor(inp["index"], np.stack([x] * batch))
        interp.invoke()
        yield [interp.get_tensor(outs[n])[0].reshape(-1) for n in names]


def onnx_outputs(path, input_name, names, size, mean, scale):
    import onnx
    from onnx.reference import ReferenceEvaluator

    run = ReferenceEvaluator(onnx.load(path))
    for seed in PATTERNS:
        yield [y[0].reshape(-1) for y in run.run(names, {input_name: blob(seed, mean, scale, size)})]


def main(path, input_name, size, mean, scale, outputs):
    names = [n for n, _ in outputs]
    if path.endswith(".tflite"):
        values, runner = tflite_outputs(path, names, size, mean, scale), "LiteRT interpreter on the original .tflite"
    else:
        values, runner = onnx_outputs(path, input_name, names, size, mean, scale), "onnx reference evaluator"
    ref = {
        "source": "%s, %s" % (os.path.basename(path), runner),
        "input": input_name,
        "size": size,
        "mean": mean,
        "scale": scale,
        "outputs": [{"name": n, "tolerance": t} for n, t in outputs],
        "cases": [
            {"pattern": seed, "outputs": {n: [float("%.8g" % v) for v in y] for n, y in zip(names, ys)}}
            for seed, ys in zip(PATTERNS, values)
        ],
    }
    sys.stdout.write(dumps(ref))


def dumps(ref):
    """Returns ref as JSON text with each output on one line, which keeps the
    file readable; 8 significant digits hold a float32 exactly enough for any
    tolerance."""
    text = json.dumps(ref, indent=1)
    text = re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)
    return text + "\n"


if __name__ == "__main__":
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    outs = []
    for arg in sys.argv[6:]:
        name, _, tol = arg.partition("=")
        outs.append((name, float(tol)))
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), outs)
