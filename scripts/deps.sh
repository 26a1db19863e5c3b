#!/usr/bin/env bash
# deps.sh PACKAGE...
#
# Installs the Debian packages that are not installed yet, as root or through
# sudo. Does no network work when all of them are installed already.
# PACKAGE@COMMAND counts as installed when COMMAND is on the PATH, whatever
# provides it (npm, for one, also comes with Node.js packages from elsewhere).
set -euo pipefail

missing=()
for spec in "$@"; do
	pkg=${spec%@*}
	if [ "$pkg" != "$spec" ] && command -v "${spec#*@}" >/dev/null 2>&1; then
		continue
	fi
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$pkg")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all $# Debian packages are installed"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	fi
	sudo="sudo"
fi
echo "deps: installing ${missing[*]}"

$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
