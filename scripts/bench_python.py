"""Times Python's face_recognition on the comparison frames, for `make bench`.

    bench_python.py FRAMES_DIR

The frames are the PNG files scripts/benchframes writes: the same files the
Go benchmark BenchmarkCameraFrames reads. Both sides do the same work on
them: each frame already decoded (decoding is not timed on either side),
every face found by dlib's HOG detector with no upsampling
(number_of_times_to_upsample=0), its five landmarks (model="small") and
dlib's descriptor, computed once (num_jitters=1). Run it on one core
(taskset -c 0, OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1), as the Go side
is run.

Prints one line the report reads:
    python: <ms> ms/frame, <ms> ms/face over <n> frames of <w>x<h>, <f> faces (face_recognition <v>, dlib <v>)
"""
import os
import sys
import time

from importlib.metadata import version

import dlib
import face_recognition


def describe(img):
    """Finds the faces in img and describes them; returns the faces and the
    seconds spent describing them (landmarks and descriptor)."""
    locations = face_recognition.face_locations(img, number_of_times_to_upsample=0, model="hog")
    start = time.perf_counter()
    encodings = face_recognition.face_encodings(
        img, known_face_locations=locations, num_jitters=1, model="small"
    )
    return len(encodings), time.perf_counter() - start


def main(folder):
    names = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
    if not names:
        sys.exit(f"bench_python: no PNG frames in {folder}")
    frames = [face_recognition.load_image_file(os.path.join(folder, n)) for n in names]
    # One warm-up pass, as the Go benchmark gets from its first iteration.
    for img in frames:
        describe(img)
    rounds = 5
    faces, describing = 0, 0.0
    start = time.perf_counter()
    for _ in range(rounds):
        faces = 0
        for img in frames:
            n, took = describe(img)
            faces += n
            describing += took
    total = time.perf_counter() - start
    h, w = frames[0].shape[:2]
    per_face = describing * 1000 / (rounds * faces) if faces else 0.0
    print(
        f"python: {total * 1000 / (rounds * len(frames)):.1f} ms/frame, {per_face:.1f} ms/face "
        f"over {len(frames)} frames of {w}x{h}, {faces} faces "
        f"(face_recognition {version('face_recognition')}, dlib {dlib.__version__})"
    )


if __name__ == "__main__":
    main(sys.argv[1])
