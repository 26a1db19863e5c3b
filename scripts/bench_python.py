"""Times Python's face_recognition on the test photos, for `make bench`.

Prints one line the report reads:
    python: <ms per photo> ms/photo over <n> photos (face_recognition <version>, dlib <version>)
"""
import os
import sys
import time

from importlib.metadata import version

import dlib
import face_recognition


def main(folder):
    photos = sorted(
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if f.lower().endswith((".jpg", ".png"))
    )
    # One warm-up pass, as the Go benchmark gets from its first iteration.
    for p in photos:
        face_recognition.face_encodings(face_recognition.load_image_file(p), model="small")
    rounds = 3
    start = time.perf_counter()
    for _ in range(rounds):
        for p in photos:
            face_recognition.face_encodings(face_recognition.load_image_file(p), model="small")
    per_photo = (time.perf_counter() - start) * 1000 / (rounds * len(photos))
    print(
        f"python: {per_photo:.1f} ms/photo over {len(photos)} photos "
        f"(face_recognition {version('face_recognition')}, dlib {dlib.__version__})"
    )


if __name__ == "__main__":
    main(sys.argv[1])
