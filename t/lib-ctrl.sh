# Helpers for the controller tests (t7xxx): a real `skiffd server` with
# the controller manager, driven with protocol lines over its socket, and
# a simulated kubelet that sets pod status the way a node agent would.
# Sourced after t/lib.sh.

SOCK=$TEST_DIR/api.sock

# start_server [NAME]: start skiffd on $TEST_DIR/data and wait until it
# serves (the default namespaces exist).
start_server() {
	start_daemon "${1:-skiffd}" skiffd server --set scheduler.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "req \"list namespaces\" | grep -q \"^ok [1-9]\"" 10
}

# objs RESOURCE NS [SELECTOR]: the objects of a list, one JSON per line.
objs() {
	req "list $1 $2${3:+ selector=$3}" | tail -n +2
}

# get RESOURCE NS NAME: the object, or nothing.
get() {
	req "get $1 $2 $3" | sed -n '2p'
}

# live_pods NS SELECTOR: names of the pods not being deleted, sorted.
live_pods() {
	objs pods "$1" "$2" | jq -r 'select(.metadata.deletionTimestamp == null) | .metadata.name' | sort
}

# count_pods NS SELECTOR
count_pods() {
	live_pods "$1" "$2" | wc -l
}

# pod_ip NAME: a stable, unique-enough address for a pod.
pod_ip() {
	local h
	h=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
	echo "10.$((h % 250 + 1)).$((h / 250 % 250)).$((h / 62500 % 250 + 1))"
}

# pod_status NS NAME READY: what a kubelet writes for a running pod,
# Ready condition True or False.
pod_status() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	req "patch pods $1 $2 subresource=status {\"status\":{\"phase\":\"Running\",\"podIP\":\"$(pod_ip "$2")\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"$3\",\"lastTransitionTime\":\"$now\"}]}}" |
		grep -q "^ok"
}

# kubelet_pass NS: make every pod without an IP run and be ready.
kubelet_pass() {
	local p
	for p in $(objs pods "$1" | jq -r 'select(.status.podIP == null and .metadata.deletionTimestamp == null) | .metadata.name'); do
		pod_status "$1" "$p" True
	done
}

# kubelet_start NS: run kubelet_pass every 0.1 s in the background until
# kubelet_stop (or the end of the test).
kubelet_start() {
	(while :; do
		kubelet_pass "$1" 2>/dev/null
		sleep 0.1
	done) &
	echo $! >"$TEST_DIR/kubelet.pid"
	at_exit "kubelet_stop"
}

kubelet_stop() {
	local pid
	pid=$(cat "$TEST_DIR/kubelet.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$TEST_DIR/kubelet.pid"
	return 0
}

# watch_start NAME LINE: record a watch stream (one event per line) into
# $TEST_DIR/NAME.watch until watch_stop NAME.
watch_start() {
	printf '%s\n' "$2" | nc.openbsd -U "$SOCK" >"$TEST_DIR/$1.watch" &
	echo $! >"$TEST_DIR/$1.wpid"
	at_exit "watch_stop $1"
	wait_for "grep -q \"^ok watch\" \"$TEST_DIR/$1.watch\"" 10
}

watch_stop() {
	local pid
	pid=$(cat "$TEST_DIR/$1.wpid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$TEST_DIR/$1.wpid"
	return 0
}

# watch_steps NAME: replay a recorded pod watch and print, after each
# event, "TOTAL READY HASHES": live pods, ready ones, and the distinct
# pod-template-hash labels among the live pods.
watch_steps() {
	grep -E '^(ADDED|MODIFIED|DELETED) ' "$TEST_DIR/$1.watch" |
		jq -nrR 'foreach (inputs | {t: (split(" ")[0]), o: (sub("^[A-Z]+ "; "") | fromjson)}) as $e
			({};
			 if $e.t == "DELETED" or $e.o.metadata.deletionTimestamp != null
			 then del(.[$e.o.metadata.name])
			 else .[$e.o.metadata.name] = {
				ready: ([$e.o.status.conditions[]? | select(.type == "Ready") | .status] | first // "False"),
				hash: ($e.o.metadata.labels["pod-template-hash"] // "")}
			 end;
			 "\(length) \([.[] | select(.ready == "True")] | length) \([.[] | .hash] | unique | length)")'
}

# rev: the store revision now.
rev() {
	req "list namespaces" | head -n 1 | sed 's/.*rev=\([0-9]*\).*/\1/'
}
