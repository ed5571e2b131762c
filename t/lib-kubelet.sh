# Helpers shared by the node-agent tests (t5xxx): they expect SOCK (the
# API socket), CGROUPS (lab_cgroup paths), RT (the runtime root) and
# the lab node n1; a test defines req() and sources this file.

node_json() {
	req "get nodes n1 rev=0" | sed -n 2p
}

# pod_json NAME: the stored pod, one line of JSON (empty when absent)
pod_json() {
	req "get pods default $1 rev=0" | sed -n '2p'
}

# mkpod NAME RESTARTPOLICY CONTAINER-JSON [EXTRA-SPEC-JSON]: create a
# pod already bound to n1 (no scheduler in this test)
mkpod() {
	local extra=${4:-'{}'}
	jq -cn --arg n "$1" --arg p "$2" --argjson c "$3" --argjson x "$extra" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,namespace:"default"},
		  spec:({nodeName:"n1",restartPolicy:$p,containers:[$c]} + $x)}' >"$1.json" &&
	req "create $(cat "$1.json")" | head -n 1 | grep -q "^ok 1 "
}

# http_get IP: GET /index.html from the node's network namespace
http_get() {
	printf 'GET /index.html HTTP/1.0\r\n\r\n' |
		lab_exec n1 timeout 5 nc.openbsd -w 5 "$1" 8080 | tr -d '\r' | sed '1,/^$/d'
}

ctr() { # NAME SHELL-COMMAND [EXTRA-JSON]
	jq -cn --arg n "$1" --arg s "$2" --argjson x "${3:-"{}"}" \
		'{name:$n,image:"busybox:test",command:["sh","-c",$s]} + $x'
}

start_node() {
	start_daemon skiffd sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private \
			nsenter --net="/run/netns/$LAB_TAG-n1" skiffd server --agent --socket "$1" --listen "" \
			--data-dir "$2/data" --set server.name=n1 --set agent.node-name=n1 \
			--set agent.runtime-root="$2/rt" --set agent.image-root="$2/images" \
			--set agent.cgroup-root=pods --set agent.heartbeat-interval=2s \
			--set store.fsync=false --log-level debug' "$CGROUPS" "$SOCK" "$TEST_DIR"
}

# skiffd runs in n1's network namespace (nsenter: ip netns exec would
# remount /sys and hide the cgroup hierarchies) and in a private mount
# namespace of its own (unshare -m), so its overlay mounts go away with
# it and its containers. Sandboxes and containers are below its
# cgroups, so lab_cgroup's removal kills them too.
cleanup_runtime() {
	local id
	for id in $(skiff-runtime --root "$RT/containers" list -q 2>/dev/null); do
		skiff-runtime --root "$RT/containers" delete --force "$id" >/dev/null 2>&1
	done
	for f in "$RT"/pods/*/sandbox; do
		[ -f "$f" ] && kill -KILL "$(cut -d" " -f1 "$f")" 2>/dev/null
	done
	return 0
}
