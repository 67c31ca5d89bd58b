#!/bin/sh
# Installs the Debian 12 packages tern needs, if any are missing.
#   scripts/deps.sh run    what building and running ternd needs
#   scripts/deps.sh test   that, plus what the tests and fuzzers need
set -eu

run_pkgs="gcc make meson ninja-build pkg-config libuv1-dev libinih-dev swaks"
test_pkgs="clang clang-format libclang-rt-14-dev llvm libcmocka-dev python3 curl swaks procps"
# What Debian's Exim, unpacked by scripts/exim.sh, needs to run.
exim_libs="libc6 libcrypt1 libdb5.3 libgnutls-dane0 libgnutls30 libidn12
    libidn2-0 libnsl2 libpcre2-8-0"

case "${1:-run}" in
run) pkgs="$run_pkgs" ;;
test) pkgs="$run_pkgs $test_pkgs $exim_libs" ;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "tern: these Debian packages are missing:$missing" >&2
		echo "tern: install them as root: apt-get install -y$missing" >&2
		echo "tern: (or run this make target as root, which installs them)" >&2
		exit 1
	fi
	echo "tern: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=300 update -qq
	# shellcheck disable=SC2086
	apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing
fi
if [ "${1:-run}" = test ]; then
	exec "$(dirname "$0")/exim.sh"
fi
