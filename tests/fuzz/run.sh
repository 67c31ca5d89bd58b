#!/bin/sh
# Runs every libFuzzer target of a fuzz build for a while.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [total|each]
#
# total (the default, `make fuzz`): SECONDS is shared by all targets, at
# least 3 s each.  each (`make fuzz-long`): every target runs SECONDS.
#
# The committed seeds (tests/corpus/<name>/) are copied into a work corpus
# under BUILD_DIR/fuzz-corpus/<target>/, which keeps growing from run to
# run; the repository is not written to.  Crashes, leaks, timeouts and
# sanitizer reports are saved in BUILD_DIR/fuzz-artifacts/<target>/ and
# make this script fail, naming the target and the input; the full output
# of each target is in BUILD_DIR/fuzz-logs/<target>.log.  Reproduce with
#   BUILD_DIR/tests/fuzz/<target> <artifact>
set -u

usage() {
	echo "usage: $0 BUILD_DIR SECONDS [total|each]" >&2
	exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
build=$1
seconds=$2
mode=${3:-total}
case $seconds in
'' | *[!0-9]*) usage ;;
esac
case $mode in
total | each) ;;
*) usage ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
seeds=$(cd "$here/../corpus" && pwd)
bin="$build/tests/fuzz"

# target, longest input, dictionary, "quiet" to close its stderr (spool_load
# logs every torn status record there; libFuzzer keeps its own output and
# the sanitizer reports on a copy)
targets="fuzz_smtp_cmd 4096 smtp.dict -
fuzz_smtp_session 16384 smtp.dict -
fuzz_smtp_data 8192 - -
fuzz_envelope 16384 - -
fuzz_conf 16384 conf.dict quiet
fuzz_spool_load 16384 - quiet
fuzz_ipc_parent 65536 - quiet
fuzz_ipc_smtp 65536 - quiet
fuzz_ipc_lookup 65536 - quiet
fuzz_ipc_queue 65536 - quiet
fuzz_ipc_local 65536 - quiet
fuzz_svc_ipc 4096 - quiet
fuzz_role_lookup 4096 - quiet"

ntargets=$(echo "$targets" | wc -l)
if [ "$mode" = total ]; then
	per=$((seconds / ntargets))
	[ $per -ge 3 ] || per=3
else
	per=$seconds
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=""
echo "fuzz: $ntargets targets, ${per}s each"
while read -r t maxlen dict quiet; do
	name=${t#fuzz_}
	exe="$bin/$t"
	work="$build/fuzz-corpus/$t"
	art="$build/fuzz-artifacts/$t"
	log="$build/fuzz-logs/$t.log"

	if [ ! -x "$exe" ]; then
		echo "fuzz: $t: no $exe (make fuzz-build)" >&2
		failed="$failed $t"
		continue
	fi
	mkdir -p "$work" "$art" "$(dirname "$log")"
	if [ -d "$seeds/$name" ]; then
		cp -p "$seeds/$name"/* "$work"/ 2>/dev/null
	fi
	set --
	[ "$dict" = - ] || set -- "$@" "-dict=$here/$dict"
	[ "$quiet" = quiet ] && set -- "$@" -close_fd_mask=2
	"$exe" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 \
	    -max_len="$maxlen" -artifact_prefix="$art/" -print_final_stats=1 \
	    "$@" "$work" </dev/null >"$log" 2>&1
	rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" |
	    tail -n 1)
	last=$(grep -a -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' \
	    "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
	rate=""
	if [ -n "${runs:-}" ] && [ -n "${secs:-}" ] && [ "$secs" -gt 0 ]; then
		rate=" ($((runs / secs))/s)"
	fi
	if [ $rc -eq 0 ]; then
		echo "fuzz: $t: ok, ${runs:-?} runs in ${secs:-?}s$rate," \
		    "cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
		continue
	fi
	failed="$failed $t"
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" |
	    tail -n 1)
	what=$(grep -a -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed' \
	    "$log")
	echo "fuzz: $t: FAILED (exit $rc) after ${runs:-?} runs: ${what:-see $log}" >&2
	echo "fuzz: $t: input: ${artifact:-none saved} (log: $log)" >&2
	# The report without libFuzzer's and libc's own frames.
	grep -a -E '^ *#[0-9]+ 0x|invariant failed|runtime error|SUMMARY' "$log" |
	    grep -v -E 'fuzzer::|__sanitizer_print_stack_trace|libc\.so|/csu/|/nptl/|/signal/|/stdlib/' |
	    head -n 16 | sed 's/^/    /' >&2
	if [ -n "$artifact" ]; then
		echo "fuzz: $t: reproduce: $exe $artifact" >&2
	fi
done <<EOF
$targets
EOF

if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed" >&2
	exit 1
fi
echo "fuzz: all $ntargets targets passed"
