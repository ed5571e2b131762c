#!/bin/bash
test_description='kubelet: skiff exec -i (stdin streamed, byte-exact, eof) and -it (a pty in the container, raw client terminal, window size), relayed by the API server to the agent, with RBAC and back-pressure'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"
command -v openssl >/dev/null || skip_all "needs openssl"
command -v script >/dev/null || skip_all "needs script (util-linux)"

SOCK=$TEST_DIR/api.sock
RT=$TEST_DIR/rt
API=192.168.92.10:6443
export SKIFF_IMAGE_ROOT=$TEST_DIR/images
mkimage=$SRCDIR/t/mkimage

pj() { req "get pods default $1 rev=0" | sed -n 2p | jq -r "$2"; }

. "$(dirname "$0")/lib-kubelet.sh"

as() {
	local tok=$1
	shift
	lab_exec cp env SKIFF_SERVER=$API SKIFF_TOKEN="$tok" skiff "$@"
}

sk() { SKIFF_SERVER=$SOCK timeout 60 skiff "$@"; }

# on a pty of script(1): CMD runs with a terminal of ROWS x COLS
# At the end of its stdin script(1) types a NUL, which the remote
# terminal may echo as "^@" anywhere in the output: both are dropped.
on_pty() { # ROWS COLS CMD (stdin: what is typed); its status is CMD's
	local rc=0
	SKIFF_SERVER=$SOCK timeout 60 script -qec "stty rows $1 cols $2; $3" /dev/null >pty.raw || rc=$?
	tr -d '\r\0' <pty.raw | sed 's/\^@//g'
	return $rc
}

# Client-side scripts run on script(1)'s pty. skiff goes to the
# background with the terminal as its stdin (a background job's stdin
# is /dev/null otherwise); raw_on waits, bounded, until it made the
# terminal raw.
cat >"$TEST_DIR/pty-lib.sh" <<-\EOF
	raw_on() {
		for _ in $(seq 200); do
			stty -g >during
			cmp -s before during || return 0
			sleep 0.1
		done
		return 1
	}
	stty -g >before
EOF
cat >"$TEST_DIR/pty-raw.sh" <<-\EOF
	. ./pty-lib.sh
	skiff exec -it box -- sleep 5 </dev/tty &
	p=$!
	raw_on || echo "never raw"
	wait $p
	echo status=$?
	stty -g >after
EOF
cat >"$TEST_DIR/pty-term.sh" <<-\EOF
	. ./pty-lib.sh
	skiff exec -it box -- sleep 60 </dev/tty &
	p=$!
	raw_on || echo "never raw"
	kill -TERM $p
	wait $p
	echo status=$?
	stty -g >after
EOF
# the remote side polls (bounded) for the new size, then prints it
cat >"$TEST_DIR/pty-winch.sh" <<-\EOF
	. ./pty-lib.sh
	skiff exec -it box -- sh -c 'for i in $(seq 200); do
		[ "$(stty size)" = "50 132" ] && break; sleep 0.1; done; stty size' </dev/tty &
	p=$!
	raw_on || echo "never raw"
	stty rows 50 cols 132
	kill -WINCH $p
	wait $p
EOF

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

test_expect_success 'lab: server in cp, agent in n1, keys, tokens, a running pod' '
	lab_switch &&
	lab_node cp 192.168.92.10/24 &&
	lab_node n1 192.168.92.1/24 &&
	lab_exec n1 sysctl -qw net.ipv4.ip_forward=1 &&
	CGROUPS= &&
	for h in unified memory pids cpu devices; do
		[ -d "$(cgroup_mount $h)" ] || continue
		CGROUPS="$CGROUPS $(lab_cgroup $h)" || return 1
	done &&
	at_exit cleanup_runtime &&
	"$mkimage" busybox-rootfs rootfs &&
	"$mkimage" -t busybox:test -o bb-oci rootfs >/dev/null &&
	skiff-runtime image import bb-oci | grep -q "^imported busybox:test" &&
	openssl rand -hex 32 >agent-master &&
	printf "skiff-agent-endpoint:%s" n1 | openssl dgst -sha256 -hmac "$(cat agent-master)" -r |
		cut -d" " -f1 >n1.key &&
	echo nodetok >node-token &&
	printf "%s\n" "nodetok,system:node:n1,3001,\"system:nodes\"" "bobtok,bob,3003" >tokens.csv &&
	chmod 600 tokens.csv agent-master n1.key node-token &&
	start_daemon skiffd nsenter --net="/run/netns/$LAB_TAG-cp" skiffd server --socket "$SOCK" \
		--listen "$API" --data-dir "$TEST_DIR/data" --set server.name=cp \
		--set server.token-file="$TEST_DIR/tokens.csv" \
		--set server.agent-key-file="$TEST_DIR/agent-master" --set store.fsync=false &&
	wait_for "req \"get namespaces default rev=0\" | grep -q ^ok" 20 0.1 &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"},\"spec\":{\"podCIDR\":\"10.244.0.0/24\",\"podCIDRs\":[\"10.244.0.0/24\"]}}" | head -n 1 | grep -q "^ok 1 " &&
	start_daemon agent sh -c "
		for d in \$0; do echo \$\$ >\"\$d/cgroup.procs\" || exit 1; done
		exec unshare -m --propagation private nsenter --net=\"/run/netns/$LAB_TAG-n1\" \
			skiffd agent --server \"\$1\" --node-name n1 --set agent.runtime-root=\"\$2/rt\" \
			--set agent.image-root=\"\$2/images\" --set agent.cgroup-root=pods \
			--set agent.heartbeat-interval=2s --set agent.token-file=\"\$2/node-token\" \
			--set agent.endpoint-key-file=\"\$2/n1.key\" --log-level debug" "$CGROUPS" "$API" "$TEST_DIR" &&
	wait_for "req \"get nodes n1 rev=0\" | sed -n 2p | json_check \".status.daemonEndpoints.kubeletEndpoint.Port == 10250\"" 20 0.2 &&
	mkpod box Always "$(ctr c "exec sleep 1000")" "{\"terminationGracePeriodSeconds\":1}" &&
	wait_for "pj box .status.phase | grep -qx Running" 30 0.1
'

test_expect_success 'exec -i: piped stdin reaches the command, eof ends it' '
	echo hi | sk exec -i box -- cat >out &&
	echo hi >expect &&
	test_cmp expect out &&
	sk exec -i box -- cat </dev/null >out &&
	test ! -s out &&
	printf "no newline" | sk exec -i box -- cat >out &&
	printf "no newline" >expect &&
	test_cmp expect out
'

test_expect_success 'exec -i: 1 MiB of any bytes, counted and echoed exactly' '
	head -c 1048576 /dev/urandom >big &&
	sk exec -i box -- wc -c <big >out &&
	test "$(tr -d " " <out)" = 1048576 &&
	sk exec -i box -- cat <big >big.out &&
	cmp big big.out &&
	sk exec -i box -- sh -c "cat >/dev/null; printf \"a\0b\r\" >&2" </dev/null 2>err &&
	printf "a\0b\r" >expect &&
	cmp expect err
'

test_expect_success 'exec -i: the exit status of the command' '
	echo "exit 3" | sk exec -i box -- sh; test $? -eq 3 &&
	echo "kill -9 \$\$" | sk exec -i box -- sh; test $? -eq 137 &&
	sk exec -i box -- true </dev/null
'

test_expect_success 'exec -t without a terminal: the kubectl warning, then no terminal' '
	sk exec -t box -- sh -c "tty; true" </dev/null >out 2>err &&
	grep -q "^Unable to use a TTY - input is not a terminal" err &&
	grep -qx "not a tty" out &&
	echo x | sk exec -it box -- tty >out 2>err; test $? -eq 1 &&
	grep -q "^Unable to use a TTY" err
'

test_expect_success 'exec -it: a pty in the container, the size of the client terminal' '
	on_pty 33 101 "skiff exec -it box -- sh -c \"tty; stty size\"" </dev/null >out &&
	grep -qE "^/dev/pts/[0-9]+$" out &&
	grep -qx "33 101" out &&
	on_pty 40 120 "skiff exec -it box -- sh -c \"exit 4\"" </dev/null; test $? -eq 4
'

test_expect_success 'exec -it: what is typed reaches the shell, its exit status comes back' '
	printf "echo typed-\$((6*7))\nexit 5\n" |
		on_pty 24 80 "skiff exec -it box -- sh" >out; test $? -eq 5 &&
	grep -q "^typed-42$" out
'

test_expect_success 'exec -it: the client terminal is raw during the session and restored after' '
	on_pty 24 80 "sh pty-raw.sh" </dev/null >out &&
	grep -qx "status=0" out &&
	! test_cmp before during &&
	test_cmp before after
'

test_expect_success 'exec -it: SIGTERM ends the session with 143, the terminal restored' '
	on_pty 24 80 "sh pty-term.sh" </dev/null >out &&
	grep -qx "status=143" out &&
	test_cmp before after
'

test_expect_success 'exec -it: a resize reaches the remote terminal (SIGWINCH)' '
	on_pty 24 80 "sh pty-winch.sh" </dev/null >out &&
	grep -qx "50 132" out
'

test_expect_success 'unauthenticated or unauthorized callers get nothing' '
	echo hi | as bobtok exec -i box -- cat >out 2>err; test $? -eq 5 &&
	grep -q "cannot create resource \"pods/exec\"" err &&
	test ! -s out &&
	lab_exec cp sh -c "printf \"exec default box stdin -- cat\nstdin aGkK\n\" | timeout 3 nc.openbsd -N 192.168.92.10 6443" >out &&
	grep -q "^error 401 Unauthorized" out &&
	! grep -q "^stdout" out &&
	lab_exec cp sh -c "printf \"exec default box stdin -- cat\nmac %064d\nstdin aGkK\n\" 0 | timeout 3 nc.openbsd -N 192.168.92.1 10250" >out &&
	grep -qx "error 401 Unauthorized bad credentials" out &&
	! grep -q "^stdout" out
'

test_expect_success 'over TCP with a token: exec -i once create pods/exec is granted' '
	req "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"execer\",\"namespace\":\"default\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods/exec\"],\"verbs\":[\"create\"]}]}" | head -n 1 | grep -q "^ok 1" &&
	req "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"bob-exec\",\"namespace\":\"default\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"bob\"}],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"execer\"}}" | head -n 1 | grep -q "^ok 1" &&
	wait_for "echo hi | as bobtok exec -i box -- cat >out" 10 0.2 &&
	echo hi >expect &&
	test_cmp expect out &&
	as bobtok exec -i box -- cat <big >big.out &&
	cmp big big.out &&
	echo "exit 9" | as bobtok exec -i box -- sh; test $? -eq 9
'

test_expect_success 'back-pressure: a reader that does not read keeps the server and agent small' '
	srv=$(daemon_pid skiffd) && agt=$(daemon_pid agent) &&
	s0=$(rss_kb $srv) && a0=$(rss_kb $agt) || return 1
	setsid sh -c "SKIFF_SERVER=$SOCK skiff exec -i box -- cat </dev/zero | sleep 60" &
	pg=$!
	test -n "$pg" &&
	test_when_finished "kill -- -$pg 2>/dev/null; true" &&
	# not a wait for a condition: the time /dev/zero has to fill every buffer
	sleep 4 &&
	s1=$(rss_kb $srv) && a1=$(rss_kb $agt) &&
	kill -- -$pg && { wait $pg; true; } &&
	echo "server rss $s0 -> $s1 kB, agent rss $a0 -> $a1 kB" &&
	test $((s1 - s0)) -lt 65536 && test $((a1 - a0)) -lt 65536
'

test_expect_success 'a plain exec is still lines; every pod deleted' '
	sk exec box -- sh -c "echo out; exit 2" >out; test $? -eq 2 &&
	echo out >expect && test_cmp expect out &&
	req "delete pods default box grace=0" >/dev/null &&
	wait_for "test -z \"\$(skiff-runtime --root $RT/containers list -q)\"" 30 0.2
'

test_done
