"""Copies one file out of an Emscripten package of files.

usage: unpack.py LOADER.js PACKAGE.data NAME OUT

MediaPipe's web packages ship their models inside one PACKAGE.data, a
concatenation of files; LOADER.js, which the browser runs to unpack it, calls
loadPackage({"files": [{"filename": ..., "start": ..., "end": ...}, ...],
"remote_package_size": ...}) with each file's byte range. This reads that
list, checks that it describes PACKAGE.data, and writes the bytes of the file
whose name ends in /NAME to OUT. The caller checks OUT's SHA-256.
"""
import json
import os
import re
import sys


def main(loader, data, name, out):
    with open(loader) as f:
        m = re.search(r"loadPackage\((\{.*?\})\);", f.read(), re.S)
    if not m:
        sys.exit("unpack: %s has no loadPackage({...}) list of files" % loader)
    package = json.loads(m.group(1))
    size = os.path.getsize(data)
    if package.get("remote_package_size") != size:
        sys.exit("unpack: %s lists a package of %s bytes; %s has %d" % (loader, package.get("remote_package_size"), data, size))
    found = [e for e in package["files"] if os.path.basename(e["filename"]) == name]
    if len(found) != 1:
        sys.exit("unpack: %s lists %d files named %s" % (loader, len(found), name))
    start, end = found[0]["start"], found[0]["end"]
    if not 0 <= start < end <= size:
        sys.exit("unpack: %s gives %s the bytes %d to %d of %d" % (loader, name, start, end, size))
    with open(data, "rb") as f:
        f.seek(start)
        body = f.read(end - start)
    with open(out, "wb") as f:
        f.write(body)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
