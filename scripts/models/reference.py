"""Records reference outputs of a face embedding model on the fixed patterns.

usage: reference.py MODEL.tflite|MODEL.onnx INPUT OUTPUT MEAN SCALE > REFERENCE.json

Run by hand when a model is added or changed, never by make. A .tflite file is
run by the LiteRT interpreter (pip install ai-edge-litert==2.3.0), so that the
ONNX file converted from it is checked against the original; an .onnx file is
run by onnx's reference evaluator.
"""
import json
import os
import re
import sys

import numpy as np

from patterns import blob

PATTERNS = (0, 1, 2, 3)
TOLERANCE = 1e-4


def tflite_outputs(path, mean, scale):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=path)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    batch = inp["shape"][0]
    for seed in PATTERNS:
        x = blob(seed, mean, scale)[0].transpose(1, 2, 0)  # NHWC
        interp.set_tensor(inp["index"], np.stack([x] * batch))
        interp.invoke()
        yield interp.get_tensor(out["index"])[0].reshape(-1)


def onnx_outputs(path, input_name, output_name, mean, scale):
    import onnx
    from onnx.reference import ReferenceEvaluator

    run = ReferenceEvaluator(onnx.load(path))
    for seed in PATTERNS:
        yield run.run([output_name], {input_name: blob(seed, mean, scale)})[0].reshape(-1)


def main(path, input_name, output_name, mean, scale):
    if path.endswith(".tflite"):
        outputs, runner = tflite_outputs(path, mean, scale), "LiteRT interpreter on the original .tflite"
    else:
        outputs, runner = onnx_outputs(path, input_name, output_name, mean, scale), "onnx reference evaluator"
    ref = {
        "source": "%s, %s" % (os.path.basename(path), runner),
        "input": input_name,
        "output": output_name,
        "mean": mean,
        "scale": scale,
        "tolerance": TOLERANCE,
        "cases": [{"pattern": seed, "output": [float("%.8g" % v) for v in y]} for seed, y in zip(PATTERNS, outputs)],
    }
    # One line per output keeps the file readable; 8 significant digits
    # hold a float32 exactly enough for the tolerance.
    text = json.dumps(ref, indent=1)
    text = re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]))
