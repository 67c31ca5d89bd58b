#!/bin/sh
# Fails, listing the files, when C sources differ from .clang-format.
set -eu
cd "$(dirname "$0")/.."
bad=""
for f in $(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c'); do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		bad="$bad $f"
	fi
done
if [ -n "$bad" ]; then
	echo "format: expected clang-format output (run 'make format') for:$bad" >&2
	exit 1
fi
