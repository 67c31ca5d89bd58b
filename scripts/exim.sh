#!/bin/sh
# Unpacks Debian's Exim (exim4-daemon-light) for the integration tests
# that relay mail through it into ternd (tests/integration/test_exim.py).
# Its package conflicts with Postfix, so it is fetched with apt-get
# download and unpacked with dpkg-deb -x, never installed.  The tree is
# kept in $TERN_EXIM_DIR (default /var/cache/tern-test/exim) and reused
# when present.  Exim also needs the user its binary names, Debian-exim.
set -eu

dir=${TERN_EXIM_DIR:-/var/cache/tern-test/exim}
pkgs="exim4-daemon-light exim4-base"

if [ -x "$dir/usr/sbin/exim4" ] && getent passwd Debian-exim >/dev/null; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "tern: Exim for the tests is missing from $dir" >&2
	echo "tern: unpack it as root: $0" >&2
	exit 1
fi
if ! getent passwd Debian-exim >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --user-group Debian-exim
	echo "tern: created system user Debian-exim"
fi
[ -x "$dir/usr/sbin/exim4" ] && exit 0

echo "tern: unpacking $pkgs into $dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt downloads as its own user where it may write.
chown _apt "$tmp" 2>/dev/null || true
apt="apt-get -o DPkg::Lock::Timeout=300 -qq"
# shellcheck disable=SC2086
if ! (cd "$tmp" && $apt download $pkgs); then
	$apt update
	# shellcheck disable=SC2086
	(cd "$tmp" && $apt download $pkgs)
fi
rm -rf "$dir.new"
mkdir -p "$dir.new"
for p in $pkgs; do
	dpkg-deb -x "$tmp/${p}"_*.deb "$dir.new"
done
rm -rf "$dir"
mv "$dir.new" "$dir"
