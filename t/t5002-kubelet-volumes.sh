#!/bin/bash
test_description='kubelet: configMap and secret volumes (items, modes, optional, updates) and env from ConfigMaps and Secrets; a missing one is CreateContainerConfigError until it appears'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"

SOCK=$TEST_DIR/api.sock
RT=$TEST_DIR/rt
export SKIFF_IMAGE_ROOT=$TEST_DIR/images
mkimage=$SRCDIR/t/mkimage

. "$(dirname "$0")/lib-kubelet.sh"

# pj NAME JQ: a field of the stored pod
pj() {
	pod_json "$1" | jq -r "$2"
}

test_expect_success 'lab: node n1, its cgroups, a busybox image' '
	lab_switch &&
	lab_node n1 192.168.91.1/24 &&
	lab_exec n1 sysctl -qw net.ipv4.ip_forward=1 &&
	CGROUPS= &&
	for h in unified memory pids cpu devices; do
		[ -d "$(cgroup_mount $h)" ] || continue
		CGROUPS="$CGROUPS $(lab_cgroup $h)" || return 1
	done &&
	at_exit cleanup_runtime &&
	"$mkimage" busybox-rootfs rootfs &&
	"$mkimage" -t busybox:test -o bb-oci rootfs >/dev/null &&
	skiff-runtime image import bb-oci | grep -q "^imported busybox:test"
'

# vdir UID KIND VOL: the host directory of a configMap/secret volume
vdir() { echo "$RT/pods/$1/volumes/$2/$3"; }
# seen POD FILE: what the pod's container copied into its emptyDir "out"
seen() { cat "$RT/pods/$(pj "$1" .metadata.uid)/volumes/empty-dir/out/$2" 2>/dev/null; }

test_expect_success 'server --agent registers node n1' '
	start_node &&
	wait_for "node_json | json_check \".spec.podCIDR != null and (.status.conditions[] | select(.type==\\\"Ready\\\") | .status == \\\"True\\\")\"" 20 0.2
'

test_expect_success 'a ConfigMap and a Secret' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\",\"namespace\":\"default\"},\"data\":{\"greeting\":\"hello\",\"app.conf\":\"level=1\",\"extra\":\"x\"}}" | head -n 1 | grep -q "^ok 1 " &&
	pw=$(printf hunter2 | base64) &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"creds\",\"namespace\":\"default\"},\"data\":{\"password\":\"$pw\",\"user\":\"$(printf admin | base64)\"}}" | head -n 1 | grep -q "^ok 1 "
'

VOLS='[{"name":"cfg","configMap":{"name":"cfg","items":[{"key":"greeting","path":"greeting"},{"key":"app.conf","path":"conf/app.conf","mode":384}]}},
       {"name":"sec","secret":{"secretName":"creds","defaultMode":256}},
       {"name":"opt","configMap":{"name":"absent","optional":true}},
       {"name":"out","emptyDir":{}}]'
MOUNTS='[{"name":"cfg","mountPath":"/etc/cfg"},{"name":"sec","mountPath":"/etc/sec","readOnly":true},
         {"name":"opt","mountPath":"/etc/opt"},{"name":"out","mountPath":"/out"}]'
ENV='[{"name":"GREETING","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"greeting"}}},
      {"name":"PASSWORD","valueFrom":{"secretKeyRef":{"name":"creds","key":"password"}}},
      {"name":"MAYBE","valueFrom":{"configMapKeyRef":{"name":"absent","key":"k","optional":true}}}]'
ENVFROM='[{"configMapRef":{"name":"cfg"},"prefix":"CFG_"},{"secretRef":{"name":"creds"}}]'

test_expect_success 'volumes and env from them are visible in the container' '
	mkpod use Always "$(ctr c "env >/out/env; ls -A /etc/opt >/out/opt; while true; do cat /etc/cfg/greeting >/out/greeting.tmp && mv /out/greeting.tmp /out/greeting; sleep 0.2; done" \
		"{\"volumeMounts\":$MOUNTS,\"env\":$ENV,\"envFrom\":$ENVFROM}")" "{\"volumes\":$VOLS}" &&
	wait_for "pj use .status.phase | grep -qx Running" 30 0.1 &&
	wait_for "seen use greeting | grep -qx hello" 10 0.1 &&
	uid=$(pj use .metadata.uid) &&
	seen use env >env &&
	grep -qx GREETING=hello env &&
	grep -qx PASSWORD=hunter2 env &&
	grep -qx CFG_greeting=hello env &&
	grep -qx user=admin env &&
	! grep -q "^MAYBE=" env &&
	test -z "$(grep -v "^\.\." "$RT/pods/$uid/volumes/empty-dir/out/opt")" &&
	cat "$(vdir $uid configmap cfg)/conf/app.conf" | grep -qx level=1 &&
	test "$(stat -L -c %a "$(vdir $uid configmap cfg)/conf/app.conf")" = 600 &&
	test "$(stat -L -c %a "$(vdir $uid secret sec)/password")" = 400 &&
	test "$(cat "$(vdir $uid secret sec)/password")" = hunter2 &&
	test ! -e "$(vdir $uid configmap cfg)/extra" &&
	test -L "$(vdir $uid configmap cfg)/..data"
'

test_expect_success 'a changed ConfigMap reaches the running container through the ..data swap' '
	old=$(readlink "$(vdir $uid configmap cfg)/..data") &&
	req "patch configmaps default cfg {\"data\":{\"greeting\":\"bonjour\"}}" | head -n 1 | grep -q "^ok 1 " &&
	wait_for "seen use greeting | grep -qx bonjour" 20 0.1 &&
	test "$(readlink "$(vdir $uid configmap cfg)/..data")" != "$old" &&
	test ! -e "$(vdir $uid configmap cfg)/$old" &&
	pj use .status.containerStatuses[0].restartCount | grep -qx 0
'

test_expect_success 'a missing ConfigMap is CreateContainerConfigError naming it, until it is created' '
	mkpod wait Always "$(ctr c "env >/out/env; exec sleep 1000" \
		"{\"volumeMounts\":[{\"name\":\"out\",\"mountPath\":\"/out\"}],\"env\":[{\"name\":\"LATE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"late\",\"key\":\"k\"}}}]}")" \
		"{\"volumes\":[{\"name\":\"out\",\"emptyDir\":{}}]}" &&
	wait_for "pj wait .status.containerStatuses[0].state.waiting.reason | grep -qx CreateContainerConfigError" 20 0.1 &&
	pj wait .status.containerStatuses[0].state.waiting.message | grep -q "configmap .late. not found" &&
	req "list events default rev=0" | grep -q "configmap .late. not found" &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"late\",\"namespace\":\"default\"},\"data\":{\"k\":\"finally\"}}" | head -n 1 | grep -q "^ok 1 " &&
	wait_for "pj wait .status.phase | grep -qx Running" 30 0.1 &&
	wait_for "seen wait env | grep -qx LATE=finally" 10 0.1
'

test_expect_success 'a missing Secret volume is CreateContainerConfigError too' '
	mkpod nosec Always "$(ctr c "exec sleep 1000" "{\"volumeMounts\":[{\"name\":\"s\",\"mountPath\":\"/s\"}]}")" \
		"{\"volumes\":[{\"name\":\"s\",\"secret\":{\"secretName\":\"gone\"}}]}" &&
	wait_for "pj nosec .status.containerStatuses[0].state.waiting.reason | grep -qx CreateContainerConfigError" 20 0.1 &&
	pj nosec .status.containerStatuses[0].state.waiting.message | grep -q "secret .gone. not found"
'

test_expect_success 'every pod deleted: nothing left' '
	for p in use wait nosec; do
		req "delete pods default $p grace=1" >/dev/null || return 1
	done &&
	wait_for "req \"list pods default rev=0\" | head -n 1 | grep -q \"^ok 0 \"" 30 0.2 &&
	wait_for "test -z \"\$(skiff-runtime --root $RT/containers list -q)\"" 10 0.1 &&
	test -z "$(ls "$RT/pods")"
'

test_done
