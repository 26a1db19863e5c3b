#!/usr/bin/env bash
# fetch-sdist.sh SPEC SDIST_SHA256 INNER DEST SUMS
#
# Downloads the Python source distribution SPEC (name==version) with pip,
# checks the archive against SDIST_SHA256, copies the files named in SUMS from
# the folder INNER inside the archive into DEST and verifies each against SUMS.
# Does no network work when every file in SUMS is already in DEST and verified.
# A file that fails verification is deleted, and the script says so.
set -euo pipefail

spec=$1 sdist_sum=$2 inner=$3 dest=$4 sums=$5
sums=$(cd "$(dirname "$sums")" && pwd)/$(basename "$sums")
name=${spec%%==*}
mkdir -p "$dest"

verify() { (cd "$dest" && sha256sum --quiet --strict -c "$sums") >/dev/null 2>&1; }

if verify; then
	echo "fetch: $dest is up to date ($spec)"
	exit 0
fi

pip=""
for candidate in pip3 pip; do
	if command -v "$candidate" >/dev/null 2>&1; then pip=$candidate; break; fi
done
if [ -z "$pip" ] && python3 -m pip --version >/dev/null 2>&1; then pip="python3 -m pip"; fi
if [ -z "$pip" ]; then
	echo "fetch: pip is missing: install python3-pip (apt-get install python3-pip) and run again" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetch: downloading $spec with $pip"
if ! $pip download --quiet --no-deps --no-binary :all: -d "$work" "$spec" >"$work/pip.log" 2>&1; then
	echo "fetch: pip could not download $spec: $(tail -n 1 "$work/pip.log")" >&2
	exit 1
fi
archive=$(ls "$work"/*.tar.gz 2>/dev/null | head -n 1)
if [ -z "$archive" ]; then
	echo "fetch: pip downloaded no source archive for $spec" >&2
	exit 1
fi
if ! echo "$sdist_sum  $archive" | sha256sum --quiet --strict -c - >/dev/null 2>&1; then
	echo "fetch: $(basename "$archive") does not match its pinned SHA-256; refusing it" >&2
	exit 1
fi

top=$(basename "$archive" .tar.gz)
status=0
while read -r sum file; do
	[ -n "$file" ] || continue
	if ! tar -xzf "$archive" -C "$work" "$top/$inner/$file" 2>/dev/null; then
		echo "fetch: $file is not in $spec" >&2
		status=1
		continue
	fi
	cp "$work/$top/$inner/$file" "$dest/$file"
	if echo "$sum  $dest/$file" | sha256sum --quiet --strict -c - >/dev/null 2>&1; then
		echo "fetch: $dest/$file verified"
	else
		rm -f "$dest/$file"
		echo "fetch: $file from $name failed its SHA-256 check and was deleted" >&2
		status=1
	fi
done <"$sums"
exit $status
