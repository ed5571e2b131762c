#!/bin/bash
test_description='skiff-runtime cgroups: per-controller hierarchy, limits, OOM, pids, teardown'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle

cg_path() {
	jq -r ".skiff.cgroups.$2.path" "$RT_STATE/$1/state.json"
}

own_cgroup() {
	awk -F: -v c="$1" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $3 }' /proc/self/cgroup
}

test_expect_success 'setup bundle' '
	make_bundle "$B"
'

test_expect_success 'the container is born in its v2 cgroup beneath ours' '
	set_args "$B" sleep 60 &&
	rt run -d --bundle "$B" g1 &&
	pid=$(state_field g1 pid) &&
	own=$(awk -F: "\$1 == 0 { print \$3 }" /proc/self/cgroup) &&
	grep -x "0::${own%/}/$SKIFF_RUNTIME_CGROUP_ROOT/g1" /proc/$pid/cgroup &&
	rt delete --force g1 &&
	no_cgroup_left g1
'

test_expect_success 'memory limit: the hierarchy is reported and the limit written' '
	edit_config "$B" ".linux.resources.memory = {limit: 33554432}" &&
	rt --debug run -d --bundle "$B" g2 2>log &&
	grep -E "memory limit 33554432 enforced by cgroup v[12]" log &&
	mem=$(cg_path g2 memory) &&
	case "$mem" in */$(basename "$(own_cgroup memory)")/$SKIFF_RUNTIME_CGROUP_ROOT/g2|*/$SKIFF_RUNTIME_CGROUP_ROOT/g2) ;; *) false ;; esac &&
	if [ -e "$mem/memory.limit_in_bytes" ]; then
		test "$(cat $mem/memory.limit_in_bytes)" = 33554432
	else
		test "$(cat $mem/memory.max)" = 33554432
	fi &&
	rt delete --force g2 &&
	no_cgroup_left g2 && test ! -d "$mem"
'

test_expect_success 'stats report cpu, memory and pids usage' '
	set_args "$B" sh -c "i=0; while [ \$i -lt 20000 ]; do i=\$((i+1)); done; sleep 60" &&
	edit_config "$B" ".linux.resources.pids = {limit: 100}" &&
	rt run -d --bundle "$B" st1 &&
	wait_for "rt stats st1 | json_check \".cpuUsageNs > 0 and .memoryCurrent > 0 and .memoryPeak >= .memoryCurrent and .pidsCurrent >= 1\"" 10 &&
	rt delete --force st1 &&
	edit_config "$B" "del(.linux.resources.pids)"
'

test_expect_success 'memory limit exceeded: OOMKilled with exit 137' '
	edit_config "$B" ".linux.resources.memory = {limit: 16777216}" &&
	set_args "$B" sh -c "x=\$(head -c 100000000 /dev/zero | tr \"\\\\0\" a); echo survived" &&
	rt run -d --bundle "$B" oom &&
	wait_for "test \"\$(state_field oom status)\" = stopped" 20 &&
	rt state oom >st &&
	jq -e ".exitCode == 137 and .oomKilled == true" st &&
	rt delete oom && no_cgroup_left oom
'

test_expect_success 'pids limit stops a fork bomb' '
	edit_config "$B" "del(.linux.resources.memory) | .linux.resources.pids = {limit: 16}" &&
	set_args "$B" sh -c "i=0; while [ \$i -lt 200 ]; do sleep 30 & i=\$((i+1)); done 2>/dev/null; sleep 30" &&
	rt run -d --bundle "$B" bomb &&
	pids=$(cg_path bomb pids) &&
	wait_for "grep -q \"^max [1-9]\" $pids/pids.events" 10 &&
	test "$(cat $pids/pids.current)" -le 16 &&
	test "$(cat $pids/pids.max)" = 16 &&
	rt delete --force bomb &&
	no_cgroup_left bomb
'

test_expect_success 'cpu quota, period and shares are written' '
	edit_config "$B" "del(.linux.resources.pids) | .linux.resources.cpu = {quota: 50000, period: 100000, shares: 512}" &&
	set_args "$B" sleep 60 &&
	rt run -d --bundle "$B" cpu1 &&
	cpu=$(cg_path cpu1 cpu) &&
	if [ -e "$cpu/cpu.cfs_quota_us" ]; then
		test "$(cat $cpu/cpu.cfs_quota_us)" = 50000 &&
		test "$(cat $cpu/cpu.cfs_period_us)" = 100000 &&
		test "$(cat $cpu/cpu.shares)" = 512
	else
		test "$(cat $cpu/cpu.max)" = "50000 100000"
	fi &&
	rt delete --force cpu1 && no_cgroup_left cpu1
'

test_expect_success 'delete of a running container kills every process of its cgroup' '
	edit_config "$B" "del(.linux.resources.cpu)" &&
	set_args "$B" sh -c "sleep 100 & sleep 100 & sleep 100" &&
	rt run -d --bundle "$B" many &&
	pid=$(state_field many pid) &&
	wait_for "test \$(ls /proc/$pid/task/$pid/children >/dev/null && wc -w </proc/$pid/task/$pid/children) -ge 2" 5 &&
	kids=$(cat /proc/$pid/task/$pid/children) &&
	rt delete --force many &&
	for k in $pid $kids; do ! kill -0 $k 2>/dev/null || return 1; done &&
	no_cgroup_left many && no_state_left many
'

test_done
