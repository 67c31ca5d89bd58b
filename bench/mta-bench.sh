#!/usr/bin/env bash
# mta-bench.sh - loopback SMTP benchmark harness (Postfix, OpenSMTPD, Exim, or
# any server given as host/port/Maildir).  Load is generated with Postfix's
# smtp-source; relay mode forwards to smtp-sink.  Everything listens on and
# talks to 127.0.0.1 only.  Output lines: "target workload metric value".
#
# Usage:
#   mta-bench.sh setup [TARGET...]         install/unpack the reference MTAs (root);
#                                          default all three, e.g. "setup postfix"
#   mta-bench.sh run TARGET WORKLOAD       one measurement (starts/stops TARGET)
#   mta-bench.sh suite [REPS]              interleaved suite, medians -> results/
#   mta-bench.sh dur TARGET                fsync-family syscall counts (strace)
#   mta-bench.sh start TARGET [VARIANT] / stop TARGET   manual control
#   mta-bench.sh versions | median FILE... | help
#
# TARGET:   postfix (127.0.0.1:2525)  opensmtpd (:2526)  exim (:2527)  custom
# WORKLOAD: W1   20000 x 4 KiB, 20 sessions, -> Maildir
#           W2   500 x 1 MiB, 10 sessions, -> Maildir
#           W1R  like W1 (2000 msgs, W1R_N) but relayed to smtp-sink on 127.0.0.1:$SINK_PORT
#           W2R  W2 but relayed to smtp-sink
#           W3   2000 idle connections (220 + EHLO, then hold), stock limits
#           W3T  W3 with connection limits raised to W3_N + 100 (Postfix smtpd
#                maxproc, Exim smtp_accept_max) and idle timeouts to 1 hour
#           DUR  strace fsync/fdatasync/sync_file_range counts (200 msgs)
# Sizes can be overridden: W1_N W2_N W3_N DUR_N, W1_SESS W2_SESS.
# W3/W3T: W3_TIMEOUT (seconds to open all, default max(30, W3_N/10)),
#   W3_MIN_AVAIL_MIB (stop opening connections when the machine's
#   MemAvailable falls below this, default 2048; reported as stopped_low_memory).
# Ports: POSTFIX_PORT (2525) OPENSMTPD_PORT (2526) EXIM_PORT (2527) SINK_PORT (2540).
# Work folder: BENCH_WORK (default /tmp/mta-bench); results under $BENCH_WORK/results.
#
# custom target (the server under development), environment:
#   CUSTOM_PORT=2530 CUSTOM_MAILDIR=/path/Maildir   (required)
#   CUSTOM_HOST=127.0.0.1                           (loopback only)
#   CUSTOM_START='cmd ...'  server command line; the harness runs it in its own
#                           cpuacct cgroup, so CPU and memory are measured the
#                           same way as for the reference MTAs (stopped with
#                           SIGTERM to every process of that cgroup).
#   CUSTOM_START_HOLD='cmd' optional: same server configured to accept but not
#                           deliver (for DUR's accept-only run).
#   CUSTOM_RESET='cmd'      optional: run (sh -c) before every start of the
#                           custom target, e.g. to empty its queue and Maildir
#                           (the reference MTAs always start empty).
#   CUSTOM_PID=1234         alternative to CUSTOM_START: measure an already
#                           running server's process tree via /proc.
#   The custom server must accept any local part @bench.test into
#   CUSTOM_MAILDIR and (for W1R/W2R) relay @relay.test to 127.0.0.1:$SINK_PORT.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# unpacked reference MTAs and results go to a writable work folder, not beside the script
WORK="${BENCH_WORK:-${TMPDIR:-/tmp}/mta-bench}"
ANCH="$WORK/anchors"
RUNROOT="$ANCH/run"
RESULTS="${RESULTS:-$WORK/results}"
HELPER="$HERE/mtabench.py"
PY="${PYTHON:-/usr/bin/python3}"
SINK_PORT="${SINK_PORT:-2540}"
CGROOT=/sys/fs/cgroup/cpuacct
EXIM_BIN="$ANCH/root-exim4-daemon-light/usr/sbin/exim4"
SMTPD_BIN="$ANCH/root-opensmtpd/usr/sbin/smtpd"
SMTPCTL_BIN="$ANCH/root-opensmtpd/usr/sbin/smtpctl"
SETTLE_S="${SETTLE_S:-2}"
# After removing the previous run's files, wait before starting the next
# server: on ext4 without a journal (this machine's root file system),
# every new file skips the inodes freed in the last 30 s, so a run started
# at once would measure the previous run's clean-up.  Applies to every
# target alike; 0 disables it.
SETTLE_AFTER_RESET="${SETTLE_AFTER_RESET:-35}"
APT=(apt-get -o DPkg::Lock::Timeout=300)

W1_N="${W1_N:-20000}"; W1_SESS="${W1_SESS:-20}"; W1_SIZE=4096
W1R_N="${W1R_N:-2000}"   # OpenSMTPD relays at ~14 msg/s (see ANCHORS.md)
W2_N="${W2_N:-500}";   W2_SESS="${W2_SESS:-10}"; W2_SIZE=1048576
W3_N="${W3_N:-2000}"
W3_TIMEOUT="${W3_TIMEOUT:-$(( W3_N / 10 > 30 ? W3_N / 10 : 30 ))}"
W3_MIN_AVAIL_MIB="${W3_MIN_AVAIL_MIB:-2048}"
W3T_MAX=$((W3_N + 100))   # connection limits of the tuned variant
DUR_N="${DUR_N:-200}"

declare -A PORT=([postfix]="${POSTFIX_PORT:-2525}" [opensmtpd]="${OPENSMTPD_PORT:-2526}"
                 [exim]="${EXIM_PORT:-2527}" [custom]="${CUSTOM_PORT:-}")

CUR_TARGET=""      # running target (for cleanup on exit)
TPID=""            # pid we launched (daemon or wrapper)
STRACE_PID=""
CG=""

log() { echo "# $*" >&2; }
die() { echo "mta-bench: $*" >&2; exit 1; }

# ------------------------------------------------------------------ helpers
alive() {  # pid is running and not a zombie
  local s
  s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "$s" != Z ]
}

listening() {  # is 127.0.0.1:PORT (or 0.0.0.0) in LISTEN state?
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" '$4=="0A" && ($2=="0100007F"p || $2=="00000000"p) {f=1} END{exit !f}' /proc/net/tcp
}

wait_listen() {  # port, max seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    listening "$1" && return 0
    sleep 0.1
  done
  return 1
}

settle_fs() {
  sync
  [ "$SETTLE_AFTER_RESET" -gt 0 ] && log "letting the file system settle for ${SETTLE_AFTER_RESET}s after the reset"
  sleep "$SETTLE_AFTER_RESET"
}

cg_pids() { [ -n "$CG" ] && [ -f "$CG/cgroup.procs" ] && cat "$CG/cgroup.procs" || true; }

cg_live() {
  local p n=0
  for p in $(cg_pids); do alive "$p" && n=$((n + 1)); done
  echo $n
}

cg_create() {
  CG=""
  if [ -w "$CGROOT" ] || mkdir -p "$CGROOT/tern-bench-$1" 2>/dev/null; then
    CG="$CGROOT/tern-bench-$1"
    mkdir -p "$CG" 2>/dev/null || { CG=""; return 0; }
    if [ -n "$(cg_pids)" ]; then die "cgroup $CG still has processes: $(cg_pids | tr '\n' ' ')"; fi
  fi
}

cg_remove() { [ -n "$CG" ] && rmdir "$CG" 2>/dev/null || true; }

# Launch "$@" inside cgroup $CG (and under strace if STRACE_LOG is set), in the
# background.  Sets TPID.
launch() {
  local out=$1; shift
  local pre=()
  if [ -n "${STRACE_LOG:-}" ]; then
    pre=(strace -f -qq -ttt -y -s 48 -o "$STRACE_LOG"
         -e trace=fsync,fdatasync,sync_file_range,syncfs,sync,msync,write,writev,sendto,sendmsg
         -e signal=none)
  fi
  if [ -n "$CG" ]; then
    sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG" "${pre[@]}" "$@" >"$out" 2>&1 &
  else
    "${pre[@]}" "$@" >"$out" 2>&1 &
  fi
  TPID=$!
  if [ -n "${STRACE_LOG:-}" ]; then STRACE_PID=$TPID; fi
}

# File descriptors: a single-process server holding W3_N sessions needs
# W3_N of them, and so does the idle client.  Raise the hard limit when root
# may (bounded by fs.nr_open), then the soft limit to the hard one.
raise_nofile() {
  local need=$((W3_N + 4096)) hard max
  hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    max=$(cat /proc/sys/fs/nr_open 2>/dev/null || echo "$need")
    [ "$need" -gt "$max" ] && need=$max
    ulimit -Hn "$need" 2>/dev/null || log "cannot raise the open-file limit to $need (hard limit $hard)"
  fi
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# ------------------------------------------------------------------- setup
cmd_setup() {
  [ "$(id -u)" = 0 ] || die "setup must run as root"
  local want=" ${*:-postfix opensmtpd exim} " t
  for t in $want; do
    case $t in postfix|opensmtpd|exim) ;; *) die "setup: unknown target $t" ;; esac
  done
  export DEBIAN_FRONTEND=noninteractive
  # postfix also provides smtp-source/smtp-sink, which every target needs
  if ! dpkg -s postfix >/dev/null 2>&1; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    "${APT[@]}" install -y postfix
  fi
  command -v smtp-source >/dev/null || die "smtp-source missing (postfix package)"
  command -v strace >/dev/null || "${APT[@]}" install -y strace
  local pkgs=()
  case $want in *" opensmtpd "*) pkgs+=(opensmtpd) ;; esac
  case $want in *" exim "*) pkgs+=(exim4-daemon-light exim4-base) ;; esac
  if [ ${#pkgs[@]} -gt 0 ]; then
    # runtime libraries of the unpacked MTAs (plain installs, no conflicts)
    "${APT[@]}" install -y libevent-2.1-7 libdb5.3 libssl3 libpam0g zlib1g libcrypt1 \
        libgnutls30 libgnutls-dane0 libidn12 libidn2-0 libnsl2 libpcre2-8-0 >/dev/null
    mkdir -p "$ANCH/debs"
    printf '*\n' > "$ANCH/.gitignore"
    # opensmtpd and exim4 conflict with postfix as packages: download + unpack only
    (cd "$ANCH/debs" && for p in "${pkgs[@]}"; do
       ls ${p}_*.deb >/dev/null 2>&1 || "${APT[@]}" download "$p"
     done)
    for p in "${pkgs[@]}"; do
      [ -d "$ANCH/root-$p" ] || { mkdir -p "$ANCH/root-$p"; dpkg-deb -x "$ANCH"/debs/${p}_*.deb "$ANCH/root-$p"; }
    done
  fi
  # system users: the Maildir owner used by all targets, Exim's compiled-in
  # EXIM_USER, OpenSMTPD's two users
  local u users=(benchmail)
  case $want in *" opensmtpd "*) users+=(opensmtpd opensmtpq) ;; esac
  case $want in *" exim "*) users+=(Debian-exim) ;; esac
  for u in "${users[@]}"; do
    getent group "$u" >/dev/null || addgroup --system --quiet --allow-bad-names "$u"
    id "$u" >/dev/null 2>&1 || adduser --system --quiet --allow-bad-names --home /nonexistent \
        --no-create-home --disabled-password --ingroup "$u" "$u"
  done
  case $want in *" opensmtpd "*)
    # smtpctl insists on being setgid opensmtpq (as the package installs it)
    chgrp opensmtpq "$SMTPCTL_BIN" && chmod 2755 "$SMTPCTL_BIN"
    if ldd "$SMTPD_BIN" | grep -q "not found"; then die "smtpd: missing libraries"; fi ;;
  esac
  case $want in *" exim "*)
    if ldd "$EXIM_BIN" | grep -q "not found"; then die "exim: missing libraries"; fi ;;
  esac
  cmd_versions
}

cmd_versions() {
  echo "machine nproc $(nproc)"
  echo "machine cpu $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo | tr ' ' '_')"
  echo "machine kernel $(uname -r)"
  echo "machine debian $(cat /etc/debian_version)"
  echo "postfix version $(dpkg-query -W -f='${Version}' postfix 2>/dev/null || echo NA)"
  echo "opensmtpd version $(dpkg-deb -f "$ANCH"/debs/opensmtpd_*.deb Version 2>/dev/null || echo NA)"
  echo "exim version $(dpkg-deb -f "$ANCH"/debs/exim4-daemon-light_*.deb Version 2>/dev/null || echo NA)"
  echo "smtp-source version $(dpkg-query -W -f='${Version}' postfix 2>/dev/null || echo NA)"
  echo "strace version $(strace -V | awk 'NR==1{print $4}')"
}

# ----------------------------------------------------------------- configs
# VARIANT: default | hold (accept but do not deliver) | tuned (W3T limits)
conf_postfix() {
  local R=$1 V=$2
  mkdir -p "$R/etc" "$R/queue" "$R/data" "$R/log" "$R/Maildir"
  chown postfix:postfix "$R/data"; chown benchmail:benchmail "$R/Maildir"
  cat > "$R/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $R/queue
data_directory = $R/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = bench-postfix.local
mydomain = bench.local
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
maillog_file_prefixes = $R/log
maillog_file = $R/log/maillog
# any local part @bench.test -> one Maildir, owned by benchmail
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $R
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:$(id -u benchmail)
virtual_gid_maps = static:$(id -g benchmail)
# relay mode: relay.test -> smtp-sink
relay_domains = relay.test
relay_transport = relay:[127.0.0.1]:$SINK_PORT
EOF
  [ "$V" = hold ] && echo "smtpd_end_of_data_restrictions = check_client_access static:HOLD" >> "$R/etc/main.cf"
  # W3T: opening thousands of smtpd processes can take longer than the
  # stock 300 s idle timeout, which would close the first sessions early
  [ "$V" = tuned ] && echo "smtpd_timeout = 3600s" >> "$R/etc/main.cf"
  local smtpd_maxproc=-
  [ "$V" = tuned ] && smtpd_maxproc=$W3T_MAX
  # upstream defaults (no chroot), smtpd on 127.0.0.1:2525, logging via postlogd
  cat > "$R/etc/master.cf" <<EOF
127.0.0.1:${PORT[postfix]} inet n - n - $smtpd_maxproc smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

conf_exim() {
  local R=$1 V=$2
  mkdir -p "$R/spool" "$R/log" "$R/Maildir" "$R/varlib/exim4"
  chown Debian-exim:Debian-exim "$R/spool" "$R/log"; chown benchmail:benchmail "$R/Maildir"
  # Exim only keeps root (needed to deliver as benchmail) when it reads its
  # compiled-in config path, so the file is placed at
  # /var/lib/exim4/config.autogenerated inside a private mount namespace.
  local C="$R/varlib/exim4/config.autogenerated"
  cat > "$C" <<EOF
exim_path = $EXIM_BIN
primary_hostname = bench-exim.local
domainlist local_domains = bench.test
domainlist relay_domains = relay.test
spool_directory = $R/spool
log_file_path = $R/log/%slog
pid_file_path = $R/exim.pid
daemon_smtp_ports = ${PORT[exim]}
local_interfaces = 127.0.0.1
acl_smtp_rcpt = acl_check_rcpt
# stock would queue (not deliver) every message after the 10th on one connection
smtp_accept_queue_per_connection = 0
# stock answers 421 after 1000 messages on one connection (W1 sends ~1000/session)
smtp_accept_max_per_connection = 0
EOF
  [ "$V" = hold ] && echo "queue_only = true" >> "$C"
  [ "$V" = tuned ] && printf 'smtp_accept_max = %d\nsmtp_connect_backlog = 2048\nsmtp_receive_timeout = 1h\n' \
      "$W3T_MAX" >> "$C"
  cat >> "$C" <<EOF
begin acl
acl_check_rcpt:
  accept domains = +local_domains : +relay_domains
  deny   message = relay not permitted
begin routers
relay_out:
  driver = manualroute
  domains = +relay_domains
  transport = remote_smtp
  route_list = * 127.0.0.1
  self = send
local_maildir:
  driver = accept
  domains = +local_domains
  transport = maildir_delivery
begin transports
maildir_delivery:
  driver = appendfile
  directory = $R/Maildir
  maildir_format
  create_directory
  user = benchmail
  group = benchmail
  delivery_date_add
  envelope_to_add
  return_path_add
remote_smtp:
  driver = smtp
  port = $SINK_PORT
begin retry
*   *   F,1h,1m
EOF
  chmod 644 "$C"
}

conf_opensmtpd() {
  local R=$1 V=$2
  # compiled-in paths (/var/spool/smtpd, /var/lib/opensmtpd/empty,
  # /usr/libexec/opensmtpd, /run/smtpd.sock) are bind-mounted from $R in a
  # private mount namespace
  mkdir -p "$R/varspool" "$R/varlib/opensmtpd/empty" "$R/run" "$R/Maildir"
  chown benchmail:benchmail "$R/Maildir"
  printf '@bench.test benchmail\n' > "$R/vusers"
  # libasr (OpenSMTPD's resolver) would send the PTR query for every client
  # to the DNS server; "lookup file" makes it use /etc/hosts only, like the
  # "hosts: files ..." that Postfix's getnameinfo() gets, and keeps all
  # traffic on the machine
  printf 'lookup file\n' > "$R/resolv.conf"
  cat > "$R/smtpd.conf" <<EOF
table vusers file:$R/vusers
listen on 127.0.0.1 port ${PORT[opensmtpd]} hostname bench-opensmtpd.local
# stock is 100 messages per session (then 452); smtp-source -d reuses 20 sessions
smtp limit max-mails 1000000
action "local" maildir "$R/Maildir" virtual <vusers>
action "relay" relay host smtp://127.0.0.1:$SINK_PORT
match from any for domain "bench.test" action "local"
match from any for domain "relay.test" action "relay"
EOF
}

# ------------------------------------------------------------ start / stop
start_target() {
  local T=$1 V=${2:-default} R="$RUNROOT/$1"
  [ -n "${PORT[$T]:-}" ] || die "unknown target $T (or CUSTOM_PORT unset)"
  if [ "$T" != custom ] || [ -n "${CUSTOM_START:-}" ]; then
    listening "${PORT[$T]}" && die "port ${PORT[$T]} already in use (leftover instance? try: $0 stop $T)"
  fi
  CUR_TARGET=$T; TPID=""; STRACE_PID=""
  raise_nofile
  case $T in
    postfix)
      rm -rf "$R"; settle_fs; mkdir -p "$R"; conf_postfix "$R" "$V"; cg_create "$T"
      launch "$R/start.out" postfix -c "$R/etc" start
      ;;
    exim)
      rm -rf "$R"; settle_fs; mkdir -p "$R"; conf_exim "$R" "$V"; cg_create "$T"
      local q=(-q30m); [ "$V" = hold ] && q=()
      launch "$R/daemon.out" unshare -m --propagation private \
        sh -c 'mount --bind "$1" /var/lib && shift && exec "$@"' sh "$R/varlib" "$EXIM_BIN" -bdf "${q[@]}"
      ;;
    opensmtpd)
      rm -rf "$R"; settle_fs; mkdir -p "$R"; conf_opensmtpd "$R" "$V"; cg_create "$T"
      launch "$R/smtpd.log" unshare -m --propagation private \
        sh -c 'mount --bind "$1/varspool" /var/spool && mount --bind "$1/varlib" /var/lib &&
               mount --bind "$2" /usr/libexec && mount --bind "$1/run" /run &&
               mount --bind "$1/resolv.conf" /etc/resolv.conf &&
               echo $$ > "$1/smtpd.pid" && exec "$3" -d -f "$1/smtpd.conf"' \
        sh "$R" "$ANCH/root-opensmtpd/usr/libexec" "$SMTPD_BIN"
      ;;
    custom)
      case "${CUSTOM_HOST:-127.0.0.1}" in 127.0.0.1|localhost|::1) ;; *) die "CUSTOM_HOST must be loopback";; esac
      [ -n "${CUSTOM_MAILDIR:-}" ] || die "CUSTOM_MAILDIR unset"
      mkdir -p "$R"
      if [ -n "${CUSTOM_RESET:-}" ]; then sh -c "$CUSTOM_RESET" || die "CUSTOM_RESET failed"; fi
      settle_fs
      local cmd=${CUSTOM_START:-}
      [ "$V" = hold ] && cmd=${CUSTOM_START_HOLD:-}
      if [ -n "$cmd" ]; then
        cg_create "$T"; launch "$R/server.out" sh -c "exec $cmd"
      elif [ -n "${STRACE_LOG:-}" ]; then
        die "DUR on custom needs CUSTOM_START"
      fi
      ;;
  esac
  wait_listen "${PORT[$T]}" 30 || { stop_target "$T"; die "$T did not start listening on ${PORT[$T]}"; }
  if [ "$T" = opensmtpd ] && [ "$V" = hold ]; then
    nsenter -t "$(cat "$R/smtpd.pid")" -m "$SMTPCTL_BIN" pause mda >/dev/null
  fi
  sleep "$SETTLE_S"
}

stop_target() {
  local T=$1 R="$RUNROOT/$1" i p
  [ -z "$CG" ] && [ -d "$CGROOT/tern-bench-$T" ] && CG="$CGROOT/tern-bench-$T"
  case $T in
    postfix) [ -f "$R/etc/main.cf" ] && timeout 60 postfix -c "$R/etc" stop >/dev/null 2>&1 || true ;;
    exim)    [ -f "$R/exim.pid" ] && kill -TERM "$(cat "$R/exim.pid")" 2>/dev/null || true ;;
    opensmtpd) [ -f "$R/smtpd.pid" ] && kill -TERM "$(cat "$R/smtpd.pid")" 2>/dev/null || true ;;
    custom)  for p in $(cg_pids); do [ "$p" = "$STRACE_PID" ] || kill -TERM "$p" 2>/dev/null || true; done ;;
  esac
  # wait (bounded) for every process of the target's cgroup to exit
  for ((i = 0; i < 300; i++)); do
    [ "$(cg_live)" = 0 ] && break
    if [ $i = 150 ]; then for p in $(cg_pids); do [ "$p" = "$STRACE_PID" ] || kill -TERM "$p" 2>/dev/null || true; done; fi
    sleep 0.1
  done
  for p in $(cg_pids); do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "$STRACE_PID" ]; then
    for ((i = 0; i < 300; i++)); do alive "$STRACE_PID" || break; sleep 0.1; done
    alive "$STRACE_PID" && kill -TERM "$STRACE_PID" 2>/dev/null || true
  fi
  # reap our direct children (bounded: only ones that are already gone)
  for p in $TPID $STRACE_PID; do alive "$p" || wait "$p" 2>/dev/null || true; done
  sleep 0.3
  cg_remove
  CG=""; CUR_TARGET=""; TPID=""; STRACE_PID=""
}

cleanup() {
  if [ -n "$CUR_TARGET" ]; then
    log "stopping $CUR_TARGET"
    stop_target "$CUR_TARGET" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

helper_target_args() {  # --cgroup or --pid for the running target
  if [ -n "$CG" ]; then echo "--cgroup $CG"
  elif [ "$1" = postfix ] && [ -f "$RUNROOT/postfix/queue/pid/master.pid" ]; then echo "--pid $(tr -d ' ' < "$RUNROOT/postfix/queue/pid/master.pid")"
  elif [ "$1" = custom ] && [ -n "${CUSTOM_PID:-}" ]; then echo "--pid $CUSTOM_PID"
  elif [ -n "$TPID" ]; then echo "--pid $TPID"
  fi
  return 0
}

maildir_of() { if [ "$1" = custom ]; then echo "$CUSTOM_MAILDIR"; else echo "$RUNROOT/$1/Maildir"; fi; }

# ----------------------------------------------------------------- workloads
run_one() {
  local T=$1 W=$2 V=default
  case $W in
    W1|W2|W1R|W2R|W3) ;;
    W3T) V=tuned ;;
    DUR) cmd_dur "$T"; return ;;
    *) die "unknown workload $W" ;;
  esac
  start_target "$T" "$V"
  sync
  local host=${CUSTOM_HOST:-127.0.0.1}; [ "$T" = custom ] || host=127.0.0.1
  local ta; ta=$(helper_target_args "$T")
  local rc=0
  case $W in
    W1)  "$PY" "$HELPER" load --target "$T" --workload "$W" $ta --host "$host" --port "${PORT[$T]}" \
           --n "$W1_N" --size "$W1_SIZE" --sessions "$W1_SESS" --maildir "$(maildir_of "$T")" || rc=$? ;;
    W2)  "$PY" "$HELPER" load --target "$T" --workload "$W" $ta --host "$host" --port "${PORT[$T]}" \
           --n "$W2_N" --size "$W2_SIZE" --sessions "$W2_SESS" --maildir "$(maildir_of "$T")" || rc=$? ;;
    W1R) "$PY" "$HELPER" load --target "$T" --workload "$W" $ta --host "$host" --port "${PORT[$T]}" \
           --n "$W1R_N" --size "$W1_SIZE" --sessions "$W1_SESS" --rcpt foo@relay.test \
           --sink-port "$SINK_PORT" --sink-log "$RUNROOT/$T/sink.log" || rc=$? ;;
    W2R) "$PY" "$HELPER" load --target "$T" --workload "$W" $ta --host "$host" --port "${PORT[$T]}" \
           --n "$W2_N" --size "$W2_SIZE" --sessions "$W2_SESS" --rcpt foo@relay.test \
           --sink-port "$SINK_PORT" --sink-log "$RUNROOT/$T/sink.log" || rc=$? ;;
    W3|W3T) "$PY" "$HELPER" idle --target "$T" --workload "$W" $ta --host "$host" --port "${PORT[$T]}" \
           --n "$W3_N" --timeout "$W3_TIMEOUT" --min-avail-mib "$W3_MIN_AVAIL_MIB" || rc=$? ;;
  esac
  stop_target "$T"
  [ $rc = 0 ] || log "$T $W: helper exit $rc"
  return 0
}

# DUR: (a) accept-only run (delivery held/paused): sync calls per message and
# inside each DATA window (354 .. 250), i.e. before the 250 is sent;
# (b) full run with Maildir delivery: sync calls per delivered message.
cmd_dur() {
  local T=$1 host=127.0.0.1 n=$DUR_N
  [ "$T" = custom ] && host=${CUSTOM_HOST:-127.0.0.1}
  mkdir -p "$RUNROOT"
  if [ "$T" != custom ] || [ -n "${CUSTOM_START_HOLD:-}" ]; then
    STRACE_LOG="$RUNROOT/strace-$T-accept.log" start_target "$T" hold
    smtp-source -4 -d -s 1 -m "$n" -l "$W1_SIZE" -f bench@client.test -t foo@bench.test \
      -M client.test "$host:${PORT[$T]}" || log "$T DUR: smtp-source rc=$?"
    sleep 1
    stop_target "$T"
    "$PY" "$HELPER" strace --target "$T" --workload DUR_accept --log "$RUNROOT/strace-$T-accept.log" --n "$n"
  fi
  STRACE_LOG="$RUNROOT/strace-$T-full.log" start_target "$T" default
  "$PY" "$HELPER" load --target "$T" --workload DUR_load --port "${PORT[$T]}" --host "$host" \
    --n "$n" --size "$W1_SIZE" --sessions 1 --maildir "$(maildir_of "$T")" --timeout 300 >/dev/null || log "$T DUR: load failed"
  sleep 1
  stop_target "$T"
  "$PY" "$HELPER" strace --target "$T" --workload DUR_full --log "$RUNROOT/strace-$T-full.log" --n "$n"
}

cmd_suite() {
  local reps=${1:-3}
  local targets=${TARGETS:-postfix opensmtpd exim}
  local workloads=${WORKLOADS:-W1 W2 W1R W2R W3 W3T}
  local out; out="$RESULTS/$(date +%Y%m%d-%H%M%S)"
  mkdir -p "$out"
  cmd_versions > "$out/machine.txt"
  log "results -> $out"
  local rep W T
  for ((rep = 1; rep <= reps; rep++)); do
    for W in $workloads; do
      for T in $targets; do          # interleaved: A B C A B C ...
        log "rep $rep $W $T"
        run_one "$T" "$W" > >(tee -a "$out/raw-rep$rep.txt")
      done
    done
  done
  if [ "${SKIP_DUR:-0}" != 1 ]; then
    for T in $targets; do log "DUR $T"; cmd_dur "$T" > >(tee -a "$out/dur.txt"); done
  fi
  "$PY" "$HELPER" median "$out"/raw-rep*.txt > "$out/median.txt"
  "$PY" "$HELPER" median --spread "$out"/raw-rep*.txt > "$out/median-spread.txt"
  log "medians: $out/median.txt"
}

case "${1:-help}" in
  setup)    shift; cmd_setup "$@" ;;
  versions) cmd_versions ;;
  run)      [ $# -ge 3 ] || die "usage: $0 run TARGET WORKLOAD"; run_one "$2" "$3" ;;
  suite)    cmd_suite "${2:-3}" ;;
  dur)      [ $# -ge 2 ] || die "usage: $0 dur TARGET"; cmd_dur "$2" ;;
  start)    start_target "$2" "${3:-default}"; log "$2 running (pid ${TPID:-?}); stop with: $0 stop $2"; CUR_TARGET="" ;;
  stop)     CG=""; stop_target "$2" ;;
  median)   shift; "$PY" "$HELPER" median "$@" ;;
  help|-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) die "unknown command $1 (try: $0 help)" ;;
esac
