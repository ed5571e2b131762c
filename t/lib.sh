# t/lib.sh: the integration-test library, in the spirit of git's test-lib.sh.
#
# A test script looks like:
#
#     #!/bin/bash
#     test_description='skiffd answers ping on its UNIX socket'
#     . "$(dirname "$0")/lib.sh"
#
#     test_expect_success 'daemon starts' '
#         start_daemon skiffd skiffd server --socket "$TEST_DIR/api.sock" \
#             --data-dir "$TEST_DIR/data" &&
#         wait_for "test -S \"$TEST_DIR/api.sock\"" 5
#     '
#     test_done
#
# Every step is a string of commands chained with &&, run with `eval` in
# the script's shell. Output is TAP, so `prove t/t*.sh` and running a test
# alone (`t/t0001-lib-ping.sh -v`) both work.
#
# Options: -v|--verbose (show each step's output), -i|--immediate (stop at
# the first failure), -d|--debug (keep the scratch dir), -x (trace steps).
#
# Everything a test creates (daemons, network namespaces, cgroups, mounts,
# temp files) is registered with a cleanup and removed on exit, also when
# the test fails or is interrupted. Every wait is a bounded poll.

# --- options and environment ------------------------------------------------

TEST_NAME=$(basename "$0" .sh)
T_SRCDIR=$(cd "$(dirname "$0")" && pwd)
SRCDIR=$(cd "$T_SRCDIR/.." && pwd)
verbose=${verbose:-}
immediate=
debug=
trace=
for arg in "$@"; do
	case "$arg" in
	-v | --verbose) verbose=t ;;
	-i | --immediate) immediate=t ;;
	-d | --debug) debug=t ;;
	-x) trace=t ;;
	*) echo "usage: $0 [-v] [-i] [-d] [-x]" >&2; exit 2 ;;
	esac
done

SKIFF_BUILD=${SKIFF_BUILD:-$SRCDIR/build}
if [ ! -x "$SKIFF_BUILD/bin/skiffd" ]; then
	echo "Bail out! no binaries in '$SKIFF_BUILD/bin' (run make, or set SKIFF_BUILD)"
	exit 1
fi
PATH=$SKIFF_BUILD/bin:$SKIFF_BUILD/t/helpers:$PATH
export PATH SKIFF_BUILD
# Sanitizer builds: fail loudly on the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# A short unique tag for this run: names of namespaces, links and cgroups
# carry it, so parallel runs and leftovers never collide.
LAB_TAG=sk$$
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/skiff-$TEST_NAME.XXXXXX") || {
	echo "Bail out! cannot create a scratch dir"
	exit 1
}
export TEST_DIR LAB_TAG
# skiffd reads this instead of the host's /etc/skiff/skiffd.conf: tests
# configure their daemons with --set only. No token file unless a test
# gives one.
SKIFFD_CONFIG=$TEST_DIR/.skiffd.conf
printf '[server]\ntoken-file =\n' >"$SKIFFD_CONFIG"
export SKIFFD_CONFIG

test_count=0
test_failed=0
test_skipped=0

# json_check FILTER...: jq -e on standard input, but an empty input fails
# (jq 1.6 exits 0 on empty input, so `cmd | jq -e ...` in a wait_for
# would pass while cmd still has nothing to say).
json_check() {
	local in
	in=$(cat)
	[ -n "$in" ] && printf '%s\n' "$in" | jq -e "$@"
}

# --- cleanup ------------------------------------------------------------------

# Cleanups live in files, not shell variables, so that registrations made
# in subshells (a step body in ( ), a daemon's wrapper) are not lost.
_cleanup_file=$TEST_DIR/.cleanups
_step_cleanup_file=$TEST_DIR/.step-cleanups

# at_exit 'cmd': run cmd when the script exits (success, failure or signal).
# Cleanups run in reverse order of registration.
at_exit() {
	printf '%s\n' "$1" >>"$_cleanup_file"
}

_run_cleanup_file() {
	local file=$1 rc=0 cmd
	[ -f "$file" ] || return 0
	while IFS= read -r cmd; do
		eval "$cmd" || rc=1
	done < <(tac "$file")
	rm -f "$file"
	return $rc
}

_on_exit() {
	local rc=$?
	_run_cleanup_file "$_step_cleanup_file" >/dev/null 2>&1
	_run_cleanup_file "$_cleanup_file" >/dev/null 2>&1
	if [ -z "$debug" ]; then
		rm -rf "$TEST_DIR"
	else
		echo "# scratch dir kept: $TEST_DIR"
	fi
	exit $rc
}
trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# test_when_finished 'cmd': run cmd when the current step ends, whatever
# its outcome; a failing cleanup fails the step.
test_when_finished() {
	printf '%s\n' "$1" >>"$_step_cleanup_file"
}

# --- TAP steps ------------------------------------------------------------------

say() {
	printf '# %s\n' "$*"
}

_show_output() {
	sed 's/^/# /' "$1"
}

# The body runs inside a function so that `return N` in it ends the step
# with status N instead of returning from test_expect_success itself.
_test_eval() {
	eval "$1"
}

# test_expect_success 'description' 'commands': run the commands with eval
# in this shell (so variables they set persist, as in git's test-lib),
# from $TEST_DIR, output captured and shown when the step fails.
test_expect_success() {
	local desc=$1 body=$2 out rc
	test_count=$((test_count + 1))
	out=$TEST_DIR/.step-$test_count.out
	[ -n "$verbose" ] && say "running: $desc"
	cd "$TEST_DIR" || exit 1
	[ -n "$trace" ] && set -x
	_test_eval "$body" >"$out" 2>&1 </dev/null
	rc=$?
	{ set +x; } 2>/dev/null
	_finish_step "$desc" "$rc" "$out"
}

_finish_step() {
	local desc=$1 rc=$2 out=$3
	_run_cleanup_file "$_step_cleanup_file" >>"$out" 2>&1 || rc=1
	if [ "$rc" -eq 0 ]; then
		echo "ok $test_count - $desc"
		[ -n "$verbose" ] && _show_output "$out"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $desc"
		# On stderr too: prove shows stderr even when not verbose, so a
		# CI log tells why a step failed.
		# (Not tee /dev/stderr: reopening stderr truncates it when it
		# is a regular file.)
		local report
		report=$(_show_output "$out"; _dump_daemon_logs)
		[ -n "$report" ] && printf '%s\n' "$report" && printf '%s\n' "$report" >&2
		if [ -n "$immediate" ]; then
			echo "1..$test_count"
			exit 1
		fi
	fi
	return 0
}

# Skip the whole script (plan 1..0) with a reason, before any step ran.
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

test_done() {
	echo "1..$test_count"
	if [ "$test_failed" -gt 0 ]; then
		say "failed $test_failed of $test_count"
		exit 1
	fi
	exit 0
}

# --- assertions -------------------------------------------------------------------

# Succeeds if the command fails normally (not killed by a signal, which
# would be a crash: 129..165 from the shell's point of view).
test_must_fail() {
	"$@"
	local rc=$?
	if [ $rc -eq 0 ]; then
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
	elif [ $rc -gt 128 ] && [ $rc -le 165 ]; then
		echo "test_must_fail: command died of signal $((rc - 128)): $*" >&2
		return 1
	fi
	return 0
}

# test_expect_code N cmd...: the command exits with status N exactly.
test_expect_code() {
	local want=$1
	shift
	"$@"
	local rc=$?
	if [ $rc -ne "$want" ]; then
		echo "test_expect_code: wanted $want, got $rc: $*" >&2
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL: show a diff when they differ.
test_cmp() {
	diff -u "$1" "$2"
}

# test_line_count OP N FILE, e.g. test_line_count = 3 out
test_line_count() {
	local n
	n=$(wc -l <"$3")
	if ! [ "$n" "$1" "$2" ]; then
		echo "test_line_count: '$3' has $n lines, wanted $1 $2" >&2
		cat "$3" >&2
		return 1
	fi
}

# --- the API server's line protocol -------------------------------------------------

# req LINE...: send the lines on one connection to the API server's UNIX
# socket ($REQ_SOCK, else $SOCK), half-closed after the last as nc -N
# does, and print every response line (timeout $REQ_TIMEOUT, 10 s). The
# server answers every request before it closes. No retry: right after a
# server (re)starts nc may find no socket or a stale one and print
# nothing; the wait_for that follows each start polls until it answers.
req() {
	printf '%s\n' "$@" | timeout "${REQ_TIMEOUT:-10}" nc.openbsd -N -U "${REQ_SOCK:-$SOCK}"
}

# --- bounded waits -----------------------------------------------------------------

# wait_for 'shell condition' TIMEOUT_SECONDS [INTERVAL]: poll until the
# condition holds; fail with a message when the deadline passes.
wait_for() {
	local cond=$1 timeout=${2:-10} interval=${3:-0.05} deadline
	deadline=$(($(date +%s%N) + timeout * 1000000000))
	while ! eval "$cond" >/dev/null 2>&1; do
		if [ "$(date +%s%N)" -ge "$deadline" ]; then
			echo "wait_for: timed out after ${timeout}s: $cond" >&2
			return 1
		fi
		sleep "$interval"
	done
}

# --- daemons ------------------------------------------------------------------------

# start_daemon NAME CMD...: run CMD in the background with output in
# $TEST_DIR/NAME.log; its pid goes to $TEST_DIR/NAME.pid. Stopped at exit.
start_daemon() {
	local name=$1
	shift
	"$@" >"$TEST_DIR/$name.log" 2>&1 </dev/null &
	echo $! >"$TEST_DIR/$name.pid"
	echo "$name" >>"$TEST_DIR/.daemons"
	at_exit "stop_daemon $name"
}

daemon_pid() {
	cat "$TEST_DIR/$1.pid" 2>/dev/null
}

# stop_daemon NAME [SIGNAL]: signal it (TERM by default), wait up to 10 s,
# then SIGKILL. Returns the daemon's exit status when it exited by itself.
stop_daemon() {
	local name=$1 sig=${2:-TERM} pid rc=0
	pid=$(daemon_pid "$name") || return 0
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null
	if ! wait_for "! kill -0 $pid" 10 0.02; then
		kill -KILL "$pid" 2>/dev/null
		rc=137
	fi
	# Reap it if it is our child, to learn its status.
	wait "$pid" 2>/dev/null
	[ $rc -eq 0 ] && rc=$?
	rm -f "$TEST_DIR/$name.pid"
	return $rc
}

_dump_daemon_logs() {
	local name
	[ -f "$TEST_DIR/.daemons" ] || return 0
	sort -u "$TEST_DIR/.daemons" | while read -r name; do
		[ -f "$TEST_DIR/$name.log" ] || continue
		say "--- last lines of $name.log ---"
		tail -n 40 "$TEST_DIR/$name.log" | sed 's/^/#   /'
	done
}

# --- root, lab network namespaces, cgroups -------------------------------------------

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (namespaces, cgroups)"
}

# lab_netns NAME: create a network namespace for one simulated node, with
# loopback up. Its real name is "$LAB_TAG-NAME"; removed at exit.
lab_netns() {
	local ns=$LAB_TAG-$1
	ip netns add "$ns" || return 1
	at_exit "lab_netns_del $1"
	ip -n "$ns" link set lo up
}

lab_netns_del() {
	local ns=$LAB_TAG-$1 pid
	# Kill whatever still runs inside, then remove the namespace.
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	return 0
}

# lab_exec NAME CMD...: run CMD inside node NAME's network namespace.
lab_exec() {
	local ns=$LAB_TAG-$1
	shift
	ip netns exec "$ns" "$@"
}

# lab_switch: a namespace holding one bridge ("lab0") that joins the nodes.
# It lives in its own namespace, so the host's network is never touched.
lab_switch() {
	lab_netns switch &&
		ip -n "$LAB_TAG-switch" link add lab0 type bridge &&
		ip -n "$LAB_TAG-switch" link set lab0 up
}

# lab_node NAME ADDR/PREFIX: a node namespace wired to the lab switch with
# a veth (eth0 inside the node), the address set, everything up. No
# default route: nothing in the lab can reach beyond it.
lab_node() {
	local name=$1 addr=$2 ns=$LAB_TAG-$1 sw=$LAB_TAG-switch
	lab_netns "$name" &&
		ip -n "$sw" link add "p-$name" type veth peer name eth0 netns "$ns" &&
		ip -n "$sw" link set "p-$name" master lab0 up &&
		ip -n "$ns" addr add "$addr" dev eth0 &&
		ip -n "$ns" link set eth0 up
}

# The cgroup this test runs in, per hierarchy: the lab creates its own
# subtree beneath it, never at a hierarchy's root.
# cgroup_self HIERARCHY: "memory", "pids", "cpu", ... or "unified".
cgroup_self() {
	local want=$1 line
	while IFS= read -r line; do
		case "$want:$line" in
		unified:0::*) echo "${line#0::}"; return 0 ;;
		*) ;;
		esac
		local ctrls=${line#*:}
		ctrls=${ctrls%%:*}
		case ",$ctrls," in
		*",$want,"*) echo "${line#*:*:}"; return 0 ;;
		esac
	done </proc/self/cgroup
	return 1
}

# cgroup_mount HIERARCHY: where it is mounted (v2 on "unified" in hybrid
# mode, or directly on /sys/fs/cgroup on a pure v2 host).
cgroup_mount() {
	case "$1" in
	unified)
		if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
			echo /sys/fs/cgroup
		else
			echo /sys/fs/cgroup/unified
		fi
		;;
	*)
		if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
			echo /sys/fs/cgroup
		else
			echo "/sys/fs/cgroup/$1"
		fi
		;;
	esac
}

# lab_cgroup HIERARCHY: create "$LAB_TAG" beneath our own cgroup in that
# hierarchy; prints its path; removed (processes killed) at exit.
lab_cgroup() {
	local h=$1 dir
	dir=$(cgroup_mount "$h")$(cgroup_self "$h")/$LAB_TAG
	dir=$(echo "$dir" | sed 's://*:/:g')
	mkdir -p "$dir" || return 1
	at_exit "cgroup_remove '$dir'"
	echo "$dir"
}

# cgroup_remove DIR: kill every process below DIR, then remove the tree
# deepest first (cgroup directories can only be rmdir'ed when empty).
cgroup_remove() {
	local dir=$1 d pid
	[ -d "$dir" ] || return 0
	if [ -f "$dir/cgroup.kill" ]; then
		echo 1 >"$dir/cgroup.kill" 2>/dev/null
	fi
	find "$dir" -name cgroup.procs 2>/dev/null | while read -r f; do
		for pid in $(cat "$f" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	find "$dir" -depth -type d 2>/dev/null | while read -r d; do
		wait_for "rmdir '$d'" 5 0.02 || true
	done
	[ ! -d "$dir" ]
}

# --- ports --------------------------------------------------------------------------

# free_port: a TCP port on 127.0.0.1 that no socket uses now, in any
# state. It is chosen below the kernel's ephemeral range (32768 and up by
# default), so an outgoing connection cannot take it between this check
# and the daemon's bind (the window left is small, and every daemon
# reports a failed bind clearly).
free_port() {
	local port i
	for i in $(seq 1 100); do
		port=$((20000 + (RANDOM * 7 + $$ + i) % 12000))
		if ! ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
			echo "$port"
			return 0
		fi
	done
	return 1
}
