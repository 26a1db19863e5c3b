"""Fixed test inputs for the face models.

Each pattern is a square RGB image, 112x112 unless a model asks for another
size, computed from integers alone, so that Go (models/faces,
reference_test.go) and Python build exactly the same pixels.
"""
import numpy as np

SIZE = 112


def pattern(seed, size=SIZE):
    """Returns pattern number seed as a uint8 array of shape (size, size, 3), RGB."""
    y, x = np.mgrid[0:size, 0:size]
    out = np.zeros((size, size, 3), dtype=np.uint8)
    for c in range(3):
        v = x * (3 + seed) + y * (5 + 2 * c) + 37 * seed * c + ((x * y) >> (3 + c))
        out[:, :, c] = (v % 256).astype(np.uint8)
    return out


def blob(seed, mean, scale, size=SIZE):
    """Returns the model input for pattern seed: NCHW float32, (x - mean) * scale."""
    x = (pattern(seed, size).astype(np.float32) - np.float32(mean)) * np.float32(scale)
    return x.transpose(2, 0, 1)[None]
