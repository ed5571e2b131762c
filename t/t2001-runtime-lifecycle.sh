#!/bin/bash
test_description='skiff-runtime lifecycle: create/start split, state, kill, exec, delete, monitor'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle

test_expect_success 'spec writes a config.json that create accepts' '
	make_bundle "$B" &&
	jq -e ".process.noNewPrivileges == true" "$B/config.json" &&
	test_must_fail skiff-runtime spec --bundle "$B" 2>err &&
	grep "File exists" err
'

test_expect_success 'run passes the exit status through' '
	set_args "$B" sh -c "exit 3" &&
	test_expect_code 3 rt run --bundle "$B" r1 &&
	no_state_left r1 && no_cgroup_left r1
'

test_expect_success 'run reports death by signal as 128+N' '
	set_args "$B" sleep 60 &&
	{ (wait_for "test \"\$(state_field r2 status)\" = running" 20 && rt kill r2 KILL) & } &&
	test_expect_code 137 rt run --bundle "$B" r2
'

test_expect_success 'run forwards signals to the container' '
	set_args "$B" sh -c "trap \"exit 9\" TERM; touch /dev/shm/ready; while :; do sleep 0.05; done" &&
	{ (wait_for "rt exec r4 test -e /dev/shm/ready" 20 && pkill -TERM -f -- "--root $RT_STATE run --bundle $B r4") & } &&
	test_expect_code 9 rt run --bundle "$B" r4
'

test_expect_success 'run shows the container output on the caller stdio' '
	set_args "$B" echo hello from inside &&
	rt run --bundle "$B" r3 >out &&
	echo "hello from inside" >expect &&
	test_cmp expect out
'

test_expect_success 'run starts at once: no exec.fifo, unlike create' '
	cat >"$TEST_DIR/see-fifo" <<-EOF &&
	#!/bin/sh
	id=\$(/usr/bin/jq -r .id)
	if [ -p "$RT_STATE/\$id/exec.fifo" ]; then echo "\$id fifo"; else echo "\$id none"; fi >>"$TEST_DIR/fifo-seen"
	EOF
	chmod +x "$TEST_DIR/see-fifo" &&
	edit_config "$B" ".hooks = {createRuntime: [{path: \$h}]}" --arg h "$TEST_DIR/see-fifo" &&
	set_args "$B" true &&
	rt run --bundle "$B" r5 &&
	rt create --bundle "$B" c5 && rt delete --force c5 &&
	edit_config "$B" "del(.hooks)" &&
	printf "r5 none\nc5 fifo\n" >expect &&
	test_cmp expect "$TEST_DIR/fifo-seen" &&
	no_state_left r5 && no_state_left c5
'

test_expect_success 'a foreground run'"'"'s container is removed by its monitor, also when run was killed' '
	set_args "$B" sleep 60 &&
	{ rt run --bundle "$B" r6 >/dev/null 2>&1 & } &&
	wait_for "test \"\$(state_field r6 status)\" = running" 20 &&
	# -o: the caller; its monitor, a fork of it, has the same command line
	pkill -KILL -o -f -- "--root $RT_STATE run --bundle $B r6" &&
	rt kill r6 KILL &&
	wait_for "no_state_left r6" 20 &&
	no_cgroup_left r6
'

test_expect_success 'create waits; start runs the process (create/start split)' '
	mkdir -p "$TEST_DIR/shared" &&
	edit_config "$B" ".mounts += [{destination: \"/out\", type: \"bind\", source: \$d, options: [\"rbind\", \"rw\"]}]" --arg d "$TEST_DIR/shared" &&
	set_args "$B" sh -c "echo started >/out/started; exec sleep 60" &&
	rt create --bundle "$B" --pid-file "$TEST_DIR/c1.pid" c1 &&
	test "$(state_field c1 status)" = created &&
	test "$(state_field c1 pid)" = "$(cat "$TEST_DIR/c1.pid")" &&
	kill -0 "$(cat "$TEST_DIR/c1.pid")" &&
	test ! -e "$TEST_DIR/shared/started" &&
	rt start c1 &&
	wait_for "test -e \"$TEST_DIR/shared/started\"" 20 &&
	test "$(state_field c1 status)" = running &&
	test_must_fail rt start c1 2>err && grep "is running, not created" err
'

test_expect_success 'state has the OCI fields' '
	rt state c1 >state.json &&
	jq -e ".ociVersion == \"1.0.2\" and .id == \"c1\" and .status == \"running\" and .pid > 0 and .bundle == \"$B\" and (.annotations | type) == \"object\" and (.created | test(\"^[0-9-]+T[0-9:.]+Z$\"))" state.json &&
	# written under a temporary name during the setup, renamed once ready
	test -f "$RT_STATE/c1/state.json" && test ! -e "$RT_STATE/c1/.state.json.tmp"
'

test_expect_success 'list shows the container (table, json, quiet)' '
	rt list >list &&
	head -1 list | grep -E "^ID +PID +STATUS +BUNDLE +CREATED +OWNER" &&
	grep -E "^c1 +[0-9]+ +running +$B .* root$" list &&
	rt list --format json | json_check ".[0].id == \"c1\"" &&
	test "$(rt list -q)" = c1
'

test_expect_success 'exec runs in the same namespaces and passes its status through' '
	pid=$(state_field c1 pid) &&
	for ns in pid mnt net uts ipc cgroup; do
		readlink /proc/$pid/ns/$ns
	done >expect &&
	rt exec c1 sh -c "for ns in pid mnt net uts ipc cgroup; do readlink /proc/self/ns/\$ns; done" >actual &&
	test_cmp expect actual &&
	test_expect_code 4 rt exec c1 sh -c "exit 4" &&
	rt exec --env FOO=bar --cwd /tmp c1 sh -c "echo \$FOO \$(pwd)" >out &&
	echo "bar /tmp" >expect && test_cmp expect out
'

test_expect_success 'exec --process takes an OCI process object' '
	echo "{\"args\": [\"sh\", \"-c\", \"id -u; exit 6\"], \"user\": {\"uid\": 65534, \"gid\": 65534}, \"cwd\": \"/\"}" >proc.json &&
	test_expect_code 6 rt exec --process proc.json c1 >out &&
	echo 65534 >expect && test_cmp expect out
'

test_expect_success 'delete refuses a running container without --force' '
	test_must_fail rt delete c1 2>err &&
	grep "is running" err &&
	test "$(state_field c1 status)" = running
'

test_expect_success 'kill takes signal names and numbers; the exit is recorded' '
	set_args "$B" sh -c "trap \"exit 7\" TERM; touch /dev/shm/ready; while :; do sleep 0.05; done" &&
	rt run -d --bundle "$B" k1 &&
	wait_for "rt exec k1 test -e /dev/shm/ready" 20 &&
	rt kill k1 SIGTERM &&
	wait_for "test \"\$(state_field k1 status)\" = stopped" 20 &&
	test "$(state_field k1 exitCode)" = 7 &&
	set_args "$B" sleep 60 &&
	rt run -d --bundle "$B" k2 &&
	rt kill k2 9 &&
	wait_for "test \"\$(state_field k2 status)\" = stopped" 20 &&
	test "$(state_field k2 exitCode)" = 137 &&
	test "$(state_field k2 exitSignal)" = 9 &&
	test_must_fail rt kill k2 KILL 2>err && grep "not running" err &&
	test_must_fail rt kill k2 NOSUCHSIG 2>err && grep "unknown signal" err
'

test_expect_success 'the monitor is in its own session and survives its creator' '
	set_args "$B" sleep 60 &&
	{ (rt run -d --bundle "$B" m1 && kill -9 $BASHPID) || :; } &&
	mon=$(jq -r .skiff.monitorPid "$RT_STATE/m1/state.json") &&
	kill -0 "$mon" &&
	test "$(ps -o sid= -p "$mon" | tr -d " ")" != "$(ps -o sid= -p $$ | tr -d " ")" &&
	test "$(ps -o ppid= -p "$mon" | tr -d " ")" != $$ &&
	test "$(state_field m1 status)" = running &&
	rt kill m1 KILL &&
	wait_for "test \"\$(state_field m1 status)\" = stopped" 20 &&
	test "$(state_field m1 exitCode)" = 137 &&
	wait_for "! kill -0 $mon" 20
'

test_expect_success 'delete --force removes state, cgroups, processes and mounts' '
	pid=$(state_field c1 pid) &&
	rt delete --force c1 &&
	! kill -0 "$pid" 2>/dev/null &&
	no_state_left c1 && no_cgroup_left c1 &&
	! grep -F "$B/rootfs" /proc/self/mountinfo &&
	for id in k1 k2 m1; do rt delete $id || return 1; done &&
	test -z "$(rt list -q)"
'

test_expect_success 'delete is idempotent with --force, an error without' '
	rt delete --force c1 &&
	test_must_fail rt delete c1 2>err &&
	grep "container .c1. does not exist" err
'

test_expect_success 'stdout/stderr go to a CRI log when asked' '
	set_args "$B" sh -c "echo out1; echo err1 >&2; printf partial" &&
	rt run --cri-log "$TEST_DIR/c.log" --bundle "$B" l1 &&
	grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z stdout F out1$" "$TEST_DIR/c.log" &&
	grep -E "Z stderr F err1$" "$TEST_DIR/c.log" &&
	grep -E "Z stdout F partial$" "$TEST_DIR/c.log"
'

test_expect_success 'the CRI log rotates at its size limit' '
	set_args "$B" sh -c "i=0; while [ \$i -lt 200 ]; do echo line \$i; i=\$((i+1)); done" &&
	rt run --cri-log "$TEST_DIR/r.log" --cri-log-max-size 2000 --bundle "$B" l2 &&
	test -s "$TEST_DIR/r.log.1" &&
	test $(stat -c %s "$TEST_DIR/r.log") -le 2000 &&
	grep -q "F line 199$" "$TEST_DIR/r.log"
'

test_done
