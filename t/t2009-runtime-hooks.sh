#!/bin/bash
test_description='skiff-runtime OCI hooks: order, namespaces, state on stdin, failures and timeouts'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle
H=$TEST_DIR/hooks

# hook KIND [PATH]: a hook that appends KIND to $H/order and keeps its
# stdin and mount namespace in $H/KIND.json and $H/KIND.mnt. PATH is
# the shell as the hook sees it: startContainer runs in the container's
# root, where $H is mounted at /h.
hook() {
	local dir=${3:-$H}
	jq -n --arg k "$1" --arg sh "${2:-/bin/sh}" --arg d "$dir" \
		'{path: $sh, args: ["sh", "-c", "cat >\($d)/\($k).json; readlink /proc/self/ns/mnt >\($d)/\($k).mnt; echo \($k) >>\($d)/order"], env: ["PATH=/bin:/usr/bin"], timeout: 10}'
}

test_expect_success 'setup' '
	make_bundle "$B" && mkdir -p "$H" &&
	edit_config "$B" ".mounts += [{destination: \"/h\", type: \"bind\", source: \$h, options: [\"rbind\", \"rw\"]}] | .process.user = {uid: 0, gid: 0}" --arg h "$H" &&
	edit_config "$B" ".hooks = {prestart: [\$a], createRuntime: [\$b], createContainer: [\$c], startContainer: [\$d], poststart: [\$e], poststop: [\$f]}" \
		--argjson a "$(hook prestart)" --argjson b "$(hook createRuntime)" \
		--argjson c "$(hook createContainer)" --argjson d "$(hook startContainer /bin/sh /h)" \
		--argjson e "$(hook poststart)" --argjson f "$(hook poststop)" &&
	set_args "$B" sh -c "echo process >>/h/order"
'

test_expect_success 'create runs prestart, createRuntime, createContainer; start the rest; delete poststop' '
	rt create --bundle "$B" h1 &&
	printf "prestart\ncreateRuntime\ncreateContainer\n" >expect &&
	test_cmp expect "$H/order" &&
	rt start h1 &&
	wait_for "grep -q process \"$H/order\"" 5 &&
	wait_for "test \"\$(state_field h1 status)\" = stopped" 5 &&
	printf "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\nprocess\n" >expect &&
	sort expect >a && sort "$H/order" >b && test_cmp a b &&
	head -4 "$H/order" >first && head -4 expect >want && test_cmp want first &&
	rt delete h1 &&
	printf "poststop\n" >expect && tail -1 "$H/order" >last && test_cmp expect last &&
	no_state_left h1 && no_cgroup_left h1
'

test_expect_success 'each hook gets the state on stdin with the status of its moment' '
	for k in prestart createRuntime createContainer; do
		jq -e ".id == \"h1\" and .status == \"creating\" and .pid > 0 and .bundle == \"$B\"" "$H/$k.json" || return 1
	done &&
	jq -e ".status == \"created\"" "$H/startContainer.json" &&
	jq -e ".status == \"running\"" "$H/poststart.json" &&
	jq -e ".status == \"stopped\"" "$H/poststop.json" &&
	test "$(jq .pid "$H/prestart.json")" = "$(jq .pid "$H/startContainer.json")"
'

test_expect_success 'runtime hooks run in the host mount namespace, container hooks in the container' '
	host=$(readlink /proc/self/ns/mnt) &&
	for k in prestart createRuntime poststart poststop; do
		test "$(cat "$H/$k.mnt")" = "$host" || return 1
	done &&
	test "$(cat "$H/createContainer.mnt")" != "$host" &&
	test "$(cat "$H/createContainer.mnt")" = "$(cat "$H/startContainer.mnt")"
'

test_expect_success 'a failing createRuntime hook fails create with its output, leaving nothing' '
	edit_config "$B" ".hooks = {createRuntime: [{path: \"/bin/sh\", args: [\"sh\", \"-c\", \"echo no network for you >&2; exit 3\"]}]}" &&
	test_must_fail rt create --bundle "$B" h2 2>err &&
	grep "createRuntime hook: hook ./bin/sh.: exit status 3: no network for you" err &&
	no_state_left h2 && no_cgroup_left h2
'

# The sleep's argument is this script's own (30.PID seconds), so that no
# other sleep on the host is taken for the hook's.
test_expect_success 'a hook past its timeout is killed and fails create' '
	edit_config "$B" ".hooks = {createContainer: [{path: \"/bin/sleep\", args: [\"sleep\", \$t], timeout: 1}]}" --arg t "30.$$" &&
	start=$(date +%s) &&
	test_must_fail rt create --bundle "$B" h3 2>err &&
	test $(($(date +%s) - start)) -lt 10 &&
	grep "createContainer hook: hook ./bin/sleep.: timed out after 1 s" err &&
	no_state_left h3 && no_cgroup_left h3 &&
	! pgrep -f "^sleep 30\.$$\$"
'

test_expect_success 'a failing startContainer hook fails start; the process never runs' '
	: >"$H/order" &&
	edit_config "$B" ".hooks = {startContainer: [{path: \"/bin/false\"}]}" &&
	rt create --bundle "$B" h4 &&
	test_must_fail rt start h4 2>err &&
	grep "start .h4.: startContainer hook: hook ./bin/false.: exit status 1" err &&
	wait_for "test \"\$(state_field h4 status)\" = stopped" 5 &&
	! grep process "$H/order" &&
	rt delete h4 && no_cgroup_left h4
'

test_expect_success 'failing poststart and poststop hooks are warnings only' '
	edit_config "$B" ".hooks = {poststart: [{path: \"/bin/false\"}], poststop: [{path: \"/nonexistent\"}]}" &&
	rt run --bundle "$B" h5 2>err &&
	grep "poststart hook: hook ./bin/false.: exit status 1" err &&
	grep "poststop hook: hook ./nonexistent.: exit status 127" err &&
	no_state_left h5 && no_cgroup_left h5
'

test_expect_success 'malformed hooks are refused naming the field' '
	edit_config "$B" ".hooks = {createRuntime: [{path: \"relative\"}]}" &&
	test_must_fail rt create --bundle "$B" h6 2>err &&
	grep "hooks.createRuntime\[0\].path: must be an absolute path" err &&
	edit_config "$B" ".hooks = {onBoot: []}" &&
	test_must_fail rt create --bundle "$B" h6 2>err &&
	grep "hooks.onBoot: unsupported field" err &&
	edit_config "$B" ".hooks = {poststop: [{path: \"/bin/true\", timeout: 0}]}" &&
	test_must_fail rt create --bundle "$B" h6 2>err &&
	grep "hooks.poststop\[0\].timeout: must be between 1 and 86400" err &&
	no_state_left h6
'

test_done
