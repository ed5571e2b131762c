#!/bin/bash
test_description='skiff-runtime bad input: clear errors, nothing left behind'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle

# fails_cleanly ID PATTERN: create ID must fail with PATTERN on stderr and
# leave no state dir, cgroup or runtime process behind.
fails_cleanly() {
	test_must_fail rt create --bundle "$B" "$1" 2>err &&
	cat err &&
	grep -E "$2" err &&
	test $(wc -l <err) = 1 &&
	no_state_left "$1" && no_cgroup_left "$1" &&
	! pgrep -f -- "--root $RT_STATE" >/dev/null
}

test_expect_success 'setup bundle' '
	make_bundle "$B" &&
	cp "$B/config.json" "$TEST_DIR/good.json"
'

reset_config() {
	cp "$TEST_DIR/good.json" "$B/config.json"
}

test_expect_success 'malformed config.json' '
	echo "{ \"process\": [" >"$B/config.json" &&
	fails_cleanly b1 "config .*config.json.: line [0-9]+, column [0-9]+: "
'

test_expect_success 'truncated config.json' '
	head -c 200 "$TEST_DIR/good.json" >"$B/config.json" &&
	fails_cleanly b2 "config .*config.json.: line [0-9]+"
'

test_expect_success 'missing config.json' '
	rm "$B/config.json" &&
	fails_cleanly b3 "open .*config.json.: No such file or directory"
'

test_expect_success 'unknown namespace type' '
	reset_config &&
	edit_config "$B" ".linux.namespaces[2].type = \"foo\"" &&
	fails_cleanly b4 "linux.namespaces\\[2\\].type: unknown namespace .foo."
'

test_expect_success 'unsupported security field' '
	reset_config &&
	edit_config "$B" ".process.apparmorProfile = \"docker-default\"" &&
	fails_cleanly b5 "process.apparmorProfile: not supported"
'

test_expect_success 'missing rootfs' '
	reset_config &&
	edit_config "$B" ".root.path = \"nothere\"" &&
	fails_cleanly b6 "rootfs .*nothere.: No such file or directory"
'

test_expect_success 'nonexistent user name' '
	reset_config &&
	edit_config "$B" ".process.user.username = \"ghost\"" &&
	fails_cleanly b7 "user .ghost.: not found in the container.s /etc/passwd"
'

test_expect_success 'missing executable' '
	reset_config &&
	set_args "$B" /no/such/program &&
	fails_cleanly b8 "exec ./no/such/program.: No such file or directory" &&
	set_args "$B" nosuchprogram &&
	fails_cleanly b9 "exec .nosuchprogram.: executable file not found in .PATH"
'

test_expect_success 'missing bind mount source' '
	reset_config &&
	edit_config "$B" ".mounts += [{destination: \"/data\", type: \"bind\", source: \"/no/such/dir\", options: [\"rbind\"]}]" &&
	fails_cleanly b10 "bind source ./no/such/dir.: No such file or directory"
'

test_expect_success 'CVE-2024-21626: cwd through /proc/self/fd is refused' '
	reset_config &&
	edit_config "$B" ".process.cwd = \"/proc/self/fd/3\"" &&
	fails_cleanly b11 "cwd ./proc/self/fd/3.: Too many levels of symbolic links"
'

test_expect_success 'cwd symlink to a magic link is refused' '
	reset_config &&
	ln -s /proc/self/cwd "$B/rootfs/evil" &&
	edit_config "$B" ".process.cwd = \"/evil\"" &&
	fails_cleanly b12 "cwd ./evil.: Too many levels of symbolic links"
'

test_expect_success 'cwd symlink climbing out of the rootfs stays inside' '
	reset_config &&
	ln -s ../../../../../../.. "$B/rootfs/up" &&
	edit_config "$B" ".process.cwd = \"/up\"" &&
	set_args "$B" sh -c "pwd; ls /" &&
	rt run --bundle "$B" b13 >out &&
	head -1 out | grep -x / &&
	grep -x bin out && ! grep -x "$(basename "$TEST_DIR")" out
'

test_expect_success 'invalid container id' '
	reset_config &&
	test_must_fail rt create --bundle "$B" "../x" 2>err &&
	grep "container id .*x.: invalid" err
'

test_expect_success 'duplicate id is refused and the first container is untouched' '
	reset_config &&
	set_args "$B" sleep 60 &&
	rt create --bundle "$B" dup &&
	test_must_fail rt create --bundle "$B" dup 2>err &&
	grep "container .dup. already exists" err &&
	test "$(state_field dup status)" = created &&
	rt delete --force dup
'

test_expect_success 'exec into a stopped container' '
	set_args "$B" true &&
	rt run -d --bundle "$B" st1 &&
	wait_for "test \"\$(state_field st1 status)\" = stopped" 5 &&
	test_must_fail rt exec st1 true 2>err &&
	grep "exec .st1.: container is stopped, not running" err &&
	rt delete st1
'

test_expect_success 'delete, state, kill, start of an unknown id' '
	for verb in delete state kill start; do
		test_must_fail rt $verb nosuch 2>err &&
		grep "container .nosuch. does not exist" err || return 1
	done
'

test_expect_success 'unsupported global flag and verb' '
	test_must_fail rt --systemd-cgroup list 2>err && grep "not supported" err &&
	test_must_fail rt frobnicate 2>err && grep "unknown verb" err
'

test_expect_success '--log keeps errors in a file, --log-format json too' '
	test_must_fail rt --log "$TEST_DIR/rt.log" --log-format json state nosuch 2>err &&
	grep "container .nosuch. does not exist" err &&
	jq -e "select(.level == \"error\") | .msg | test(\"nosuch\")" "$TEST_DIR/rt.log" &&
	test_must_fail rt --log-format yaml list 2>err && grep "want text or json" err
'

test_expect_success 'nothing is left in the state root' '
	test -z "$(rt list -q)"
'

test_done
