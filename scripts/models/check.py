"""Checks an ONNX face model by its outputs.

usage: check.py MODEL.onnx REFERENCE.json

Runs the model with onnx's reference evaluator on the fixed patterns named in
REFERENCE.json and compares every output recorded there with the model's.
Exits 1 when an output is missing, has another size, or differs anywhere by
more than its tolerance.
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
    model = onnx.load(model_path)
    have = [o.name for o in model.graph.output]
    names = [o["name"] for o in ref["outputs"]]
    missing = [n for n in names if n not in have]
    if missing:
        sys.exit("check: %s has no output %s (it has %s)" % (model_path, ", ".join(missing), ", ".join(have)))
    run = ReferenceEvaluator(model)
    worst = {n: 0.0 for n in names}
    for case in ref["cases"]:
        x = blob(case["pattern"], ref["mean"], ref["scale"], ref["size"])
        for n, y in zip(names, run.run(names, {ref["input"]: x})):
            y = y.reshape(-1)
            want = np.array(case["outputs"][n], dtype=np.float32)
            if y.shape != want.shape:
                sys.exit("check: %s output %s gives %d values; %s records %d" % (model_path, n, y.size, ref_path, want.size))
            worst[n] = max(worst[n], float(np.abs(y - want).max()))
    failed = False
    for o in ref["outputs"]:
        n, tol = o["name"], o["tolerance"]
        bad = worst[n] > tol
        failed = failed or bad
        print("check: %s output %s differs from %s by at most %.2g (tolerance %g)%s"
              % (model_path, n, ref_path, worst[n], tol, ": too much" if bad else ""))
    if failed:
        sys.exit("check: %s differs from %s" % (model_path, ref_path))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
