"""Checks an ONNX face embedding model by its outputs.

usage: check.py MODEL.onnx REFERENCE.json

Runs the model with onnx's reference evaluator on the fixed patterns named in
REFERENCE.json and compares each output with the one recorded there. Exits 1
when any value differs by more than the file's tolerance.
"""
import json
import sys

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from patterns import blob


def main(model_path, ref_path):
    with open(ref_path) as f:
        ref = json.load(f)
    run = ReferenceEvaluator(onnx.load(model_path))
    worst = 0.0
    for case in ref["cases"]:
        x = blob(case["pattern"], ref["mean"], ref["scale"])
        y = run.run([ref["output"]], {ref["input"]: x})[0].reshape(-1)
        want = np.array(case["output"], dtype=np.float32)
        if y.shape != want.shape:
            sys.exit("check: %s gives %d values; %s records %d" % (model_path, y.size, ref_path, want.size))
        worst = max(worst, float(np.abs(y - want).max()))
    if worst > ref["tolerance"]:
        sys.exit("check: %s differs from %s by %.2g, more than %g" % (model_path, ref_path, worst, ref["tolerance"]))
    print("check: %s matches %s within %.1g (largest difference %.2g)" % (model_path, ref_path, ref["tolerance"], worst))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
