# t/lib-store.sh: helpers for the multi-member store tests (t10NN-store-*).
# Source after t/lib.sh.
#
# Member N is "mN": data dir $TEST_DIR/dN, API socket $TEST_DIR/sN.sock,
# peer port $PN (127.0.0.1). Every start gets a fresh daemon name (kept
# in $TEST_DIR/mN.name), so a member can be killed and restarted on the
# same data dir and the harness still stops every incarnation at exit.
#
#     store_ports N      pick N distinct free ports P1..PN, set PEERS for
#                        members 1..N and SOCKS for kvhist, write a secret
#     member N [ARGS]    start mN with server.peers=$PEERS and ARGS
#     kill9 N            kill -9 mN (no cleanup of any kind: a crash)
#     kvn N ARGS...      `skiff kv ARGS` on mN, bounded to 15 s

head -c 32 /dev/urandom | base64 >"$TEST_DIR/secret"
SNAP_EVERY=${SNAP_EVERY:-200}
ELECTION=${ELECTION:-300ms}

store_ports() {
	local n=$1 i p used=" "
	PEERS= SOCKS=
	for i in $(seq 1 "$n"); do
		p=$(free_port) || return 1
		while case "$used" in *" $p "*) true ;; *) false ;; esac do
			p=$(free_port) || return 1
		done
		used="$used$p "
		eval "P$i=$p"
		PEERS="${PEERS:+$PEERS,}m$i=127.0.0.1:$p"
		SOCKS="${SOCKS:+$SOCKS,}$TEST_DIR/s$i.sock"
	done
}

member() {
	local n=$1 port
	shift
	eval "port=\$P$n"
	start_daemon "m$n.$RANDOM" skiffd server --socket "$TEST_DIR/s$n.sock" --listen "" \
		--data-dir "$TEST_DIR/d$n" --set server.name=m$n \
		--set server.peer-listen=127.0.0.1:$port \
		--set server.peers="$PEERS" \
		--set server.cluster-secret-file="$TEST_DIR/secret" \
		--set store.election-timeout=$ELECTION --set store.heartbeat-interval=50ms \
		--set store.snapshot-every=$SNAP_EVERY "$@"
	tail -n 1 "$TEST_DIR/.daemons" >"$TEST_DIR/m$n.name"
}

name_of() {
	cat "$TEST_DIR/m$1.name"
}

log_of() {
	echo "$TEST_DIR/$(name_of "$1").log"
}

kill9() {
	local pid
	pid=$(daemon_pid "$(name_of "$1")") && [ -n "$pid" ] || return 1
	kill -9 "$pid" && wait "$pid" 2>/dev/null
	rm -f "$TEST_DIR/$(name_of "$1").pid"
	return 0
}

kvn() {
	local n=$1
	shift
	timeout 15 skiff -s "$TEST_DIR/s$n.sock" kv "$@"
}

# field N KEY: a string or number field of mN's `kv status`.
field() {
	kvn "$1" status 2>/dev/null |
		sed -n "s/.*\"$2\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"
}

leader_of() { field "$1" leader; }

# all_agree N...: every listed member names the same, nonempty leader
# (printed).
all_agree() {
	local l="" n x
	for n in "$@"; do
		x=$(leader_of "$n")
		[ -n "$x" ] || return 1
		[ -z "$l" ] || [ "$l" = "$x" ] || return 1
		l=$x
	done
	echo "$l"
}

# count N PREFIX [serializable]: keys under PREFIX as mN reads them.
count() {
	kvn "$1" range "$2" + count-only $3 | sed -n "s/.*total=//p"
}

# bulk_put N PREFIX COUNT: COUNT pipelined puts PREFIX1.. on one
# connection to mN; fails unless every one was acknowledged.
bulk_put() {
	local n=$1 prefix=$2 count=$3 f=$TEST_DIR/bulk.$$.$RANDOM
	seq 1 "$count" | sed "s|.*|kv put $prefix& &|" >"$f"
	timeout 60 nc.openbsd -N -U "$TEST_DIR/s$n.sock" <"$f" >"$f.out" || return 1
	test "$(grep -c "^ok 0" "$f.out")" = "$count"
}

# checksum N: a digest of every key, value and revision mN holds, read
# locally (serializable), with the revision it was read at.
checksum() {
	kvn "$1" range %00 %00 serializable | md5sum | cut -d" " -f1
}

# all_same N...: every listed member holds exactly the same data, at
# the leader's commit (compare after writes stopped).
all_same() {
	local n sum="" x
	for n in "$@"; do
		x=$(checksum "$n") || return 1
		[ -z "$sum" ] || [ "$sum" = "$x" ] || return 1
		sum=$x
	done
	echo "$sum"
}

# lag_of L NAME: the replication lag of member NAME as leader mL sees it.
lag_of() {
	kvn "$1" members | sed -n "s/.*\"name\":\"$2\".*\"lag\":\\([0-9]*\\).*/\\1/p"
}

# caught_up L N...: leader mL sees every listed member with lag 0.
caught_up() {
	local l=$1 n
	shift
	for n in "$@"; do
		test "$(lag_of "$l" "m$n")" = 0 || return 1
	done
}

# check_history FILE [KEYS [PREFIX]]: append a final read of every key
# (from any member) and check the whole history with lincheck.
check_history() {
	local hist=$1 keys=${2:-24} prefix=${3:-}
	kvhist --server "$SOCKS" --keys "$keys" --prefix "$prefix" --final-reads \
		--out "$hist.final" &&
		test_line_count = "$keys" "$hist.final" &&
		cat "$hist" "$hist.final" >"$hist.full" &&
		lincheck -v "$hist.full" >"$hist.verdict" || {
		cat "$hist.verdict" 2>/dev/null
		return 1
	}
	head -n 1 "$hist.verdict" && tail -n 1 "$hist.verdict" &&
		test "$(head -n 1 "$hist.verdict")" = linearizable
}

# unique_writer MEMBER...: put u/1, u/2, ... through the first member
# (moving to the next after a failure) until the file $TEST_DIR/stop
# exists; the number of every acknowledged put is appended to
# $TEST_DIR/acked. Each key is written once with its own number, so every
# acknowledged one must exist after recovery (check_acked).
unique_writer() {
	local i=0 k=1 n
	while [ -d "$TEST_DIR" ] && [ ! -e "$TEST_DIR/stop" ]; do
		i=$((i + 1))
		n=$(echo "$@" | cut -d" " -f$k)
		if kvn "$n" put u/$i $i >/dev/null 2>&1; then
			echo $i >>"$TEST_DIR/acked"
		else
			k=$((k % $# + 1))
		fi
	done
}

# check_acked N...: every acknowledged unique write is on each member N
# (read locally once it applied a write made after them all).
check_acked() {
	local n l
	test -s "$TEST_DIR/acked" || return 1
	echo "$(sort -u "$TEST_DIR/acked" | wc -l) acknowledged unique writes"
	l=$(all_agree "$@") || return 1
	kvn "${l#m}" put u/end x >/dev/null || return 1
	sort -u "$TEST_DIR/acked" >"$TEST_DIR/want"
	for n in "$@"; do
		wait_for "kvn $n get u/end serializable" 10 &&
			kvn "$n" range u/ + keys-only serializable |
			sed -n "s/^{\"key\":\"u\/\([0-9]*\)\".*/\1/p" | sort -u >"$TEST_DIR/have.$n" &&
			comm -23 "$TEST_DIR/want" "$TEST_DIR/have.$n" >"$TEST_DIR/missing.$n" &&
			test_line_count = 0 "$TEST_DIR/missing.$n" || return 1
	done
}
