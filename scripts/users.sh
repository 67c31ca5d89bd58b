#!/bin/sh
# Creates the system users ternd switches to when it starts as root (one
# per role; see tern.conf(5): smtp_user, lookup_user, queue_user,
# mail_user).  Does nothing when not root: ternd then runs every process
# as the invoking user.
set -eu
[ "$(id -u)" = 0 ] || exit 0
for u in tern-smtp tern-lookup tern-queue tern-mail; do
	if ! getent passwd "$u" >/dev/null; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin --user-group "$u"
		echo "tern: created system user $u"
	fi
done
