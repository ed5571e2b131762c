#!/bin/bash
test_description='systemd: READY=1, RELOADING=1/READY=1 on SIGHUP and STOPPING=1 over NOTIFY_SOCKET, in server and agent mode; the units parse'
. "$(dirname "$0")/lib.sh"

require_root

SOCK=$TEST_DIR/api.sock

# listen NAME: a stand-in for systemd's notify socket, $TEST_DIR/NAME.n,
# its datagrams in NAME.out ("--" after each).
listen() {
	start_daemon "$1-listen" notify-listen "$TEST_DIR/$1.n" 90 &&
	wait_for "test -S \"$TEST_DIR/$1.n\"" 10
}

# seen NAME LINE...: the datagrams, in order, hold these lines.
seen() {
	local f=$TEST_DIR/$1.out
	shift
	grep -v '^--$' "$f" >"$f.lines" 2>/dev/null || return 1
	printf '%s\n' "$@" >"$f.want"
	# The wanted lines appear in this order (others may be in between).
	awk 'NR == FNR { want[++n] = $0; next } i < n && $0 == want[i + 1] { i++ } END { exit i == n ? 0 : 1 }' \
		"$f.want" "$f.lines"
}

out_of() {
	cp "$TEST_DIR/$1-listen.log" "$TEST_DIR/$1.out"
}

test_expect_success 'server: READY=1 with a status once it serves' '
	listen server &&
	NOTIFY_SOCKET=$TEST_DIR/server.n start_daemon skiffd skiffd server --socket "$SOCK" \
		--listen "" --data-dir "$TEST_DIR/data" --set server.name=m1 --set store.fsync=false &&
	wait_for "out_of server; seen server READY=1 STATUS=serving" 20 &&
	skiff -s "$SOCK" ping
'

test_expect_success 'server: SIGHUP gives RELOADING=1 then READY=1, and it keeps serving' '
	kill -HUP "$(daemon_pid skiffd)" &&
	wait_for "out_of server; seen server READY=1 RELOADING=1 READY=1" 20 &&
	skiff -s "$SOCK" ping
'

test_expect_success 'server: a broken configuration at reload is refused, READY=1 again' '
	cp "$SKIFFD_CONFIG" conf.good &&
	printf "[server]\nbogus-key = 1\n" >"$SKIFFD_CONFIG" &&
	kill -HUP "$(daemon_pid skiffd)" &&
	wait_for "out_of server; seen server RELOADING=1 READY=1 RELOADING=1 READY=1" 20 &&
	cp conf.good "$SKIFFD_CONFIG" &&
	skiff -s "$SOCK" ping &&
	grep -q "keeping the running one" skiffd.log
'

test_expect_success 'agent: READY=1 in agent mode, SIGHUP reloads instead of killing it' '
	lab_switch &&
	lab_node n1 192.168.94.1/24 &&
	lab_exec n1 sysctl -qw net.ipv4.ip_forward=1 &&
	CGROUPS= &&
	for h in unified memory pids cpu devices; do
		[ -d "$(cgroup_mount $h)" ] || continue
		CGROUPS="$CGROUPS $(lab_cgroup $h)" || return 1
	done &&
	listen agent &&
	NOTIFY_SOCKET=$TEST_DIR/agent.n start_daemon agent sh -c '"'"'
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private nsenter --net="/run/netns/$LAB_TAG-n1" \
			skiffd agent --server "$1" --node-name n1 --set agent.runtime-root="$2/rt" \
			--set agent.image-root="$2/images" --set agent.cgroup-root=pods \
			--set agent.heartbeat-interval=2s'"'"' "$CGROUPS" "$SOCK" "$TEST_DIR" &&
	wait_for "out_of agent; seen agent READY=1 \"STATUS=agent running\"" 20 &&
	wait_for "skiff -s \"$SOCK\" get nodes n1" 20 &&
	kill -HUP "$(daemon_pid agent)" &&
	wait_for "out_of agent; seen agent READY=1 RELOADING=1 READY=1" 20 &&
	kill -0 "$(daemon_pid agent)" &&
	grep -q "reload: configuration re-read" agent.log
'

test_expect_success 'SIGTERM: STOPPING=1 from both, and both exit 0' '
	stop_daemon agent &&
	out_of agent && seen agent READY=1 STOPPING=1 &&
	stop_daemon skiffd &&
	out_of server && seen server READY=1 STOPPING=1
'

test_expect_success 'the units in etc/ parse (systemd-analyze verify)' '
	command -v systemd-analyze >/dev/null || { say "no systemd-analyze: skipped"; return 0; } &&
	mkdir units &&
	for u in skiffd-server skiffd-agent; do
		sed "s|/usr/local/sbin/skiffd|$SKIFF_BUILD/bin/skiffd|" "$SRCDIR/etc/$u.service" \
			>units/$u.service || return 1
	done &&
	grep -q "^Type=notify$" units/skiffd-server.service &&
	grep -q "^KillMode=process$" units/skiffd-agent.service &&
	systemd-analyze verify --man=no units/skiffd-server.service units/skiffd-agent.service >verify 2>&1;
	cat verify &&
	! grep -v "^$" verify
'

test_done
