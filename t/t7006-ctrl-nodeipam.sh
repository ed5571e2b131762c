#!/bin/bash
test_description='node IPAM in a real skiffd: nodes get distinct podCIDRs out of the cluster CIDR, kept over a restart, a full range gives a CIDRNotAvailable event, a deleted node frees its podCIDR, podCIDR is immutable'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

# A /22 of /24s: four podCIDRs, so the range fills after four nodes.
start_ipam() {
	start_daemon "${1:-skiffd}" skiffd server --set scheduler.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 \
		--set agent.cluster-cidr=10.244.0.0/22 --set controllers.node-cidr-mask-size=24 &&
	wait_for "req \"list namespaces\" | grep -q \"^ok [1-9]\"" 10
}

node() {
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\"}}" | grep -q "^ok"
}

cidr_of() {
	get nodes "" "$1" | jq -r '.spec.podCIDR // empty'
}

# every node's podCIDR, "name cidr" lines sorted by name
cidrs() {
	objs nodes "" | jq -r '"\(.metadata.name) \(.spec.podCIDR // "-")"' | sort
}

test_expect_success 'three nodes get three distinct /24s of the cluster CIDR, podCIDRs matching' '
	start_ipam &&
	node n1 && node n2 && node n3 &&
	wait_for "test -n \"\$(cidr_of n1)\" && test -n \"\$(cidr_of n2)\" && test -n \"\$(cidr_of n3)\"" 20 0.2 &&
	cidrs >before &&
	test "$(cut -d" " -f2 before | sort -u | wc -l)" = 3 &&
	grep -Eq "^n1 10\.244\.[0-3]\.0/24$" before &&
	for n in n1 n2 n3; do
		get nodes "" $n | json_check ".spec.podCIDRs == [.spec.podCIDR]" || return 1
	done
'

test_expect_success 'spec.podCIDR is immutable once set' '
	obj=$(get nodes "" n1 | jq -c ".spec.podCIDR = \"10.244.9.0/24\" | .spec.podCIDRs = [\"10.244.9.0/24\"]") &&
	req "update $obj" >out &&
	head -n 1 out | grep -q "^error 422 " &&
	grep -q "may not change podCIDR" out
'

test_expect_success 'after kill -9 and a restart the podCIDRs stay, a new node gets the free one' '
	stop_daemon skiffd KILL;
	start_ipam skiffd2 &&
	node n4 &&
	wait_for "test -n \"\$(cidr_of n4)\"" 20 0.2 &&
	cidrs >after &&
	grep -v "^n4 " after >after3 &&
	test_cmp before after3 &&
	test "$(cut -d" " -f2 after | sort -u | wc -l)" = 4
'

test_expect_success 'the range is full: the fifth node gets no podCIDR and a CIDRNotAvailable event' '
	node n5 &&
	wait_for "objs events default | jq -r \"select(.reason == \\\"CIDRNotAvailable\\\") | .involvedObject.name\" | grep -qx n5" 20 0.2 &&
	objs events default | jq -r "select(.reason == \"CIDRNotAvailable\") | .message" | grep -qx "Node n5 status is now: CIDRNotAvailable" &&
	test -z "$(cidr_of n5)"
'

test_expect_success 'deleting a node frees its podCIDR: the waiting node gets it' '
	freed=$(cidr_of n2) &&
	req "delete nodes n2" | grep -q "^ok" &&
	wait_for "test \"\$(cidr_of n5)\" = $freed" 20 0.2 &&
	test "$(cidrs | cut -d" " -f2 | sort -u | wc -l)" = 4
'

test_expect_success 'a podCIDR set by hand is taken: not handed out to the next node' '
	x=$(cidr_of n3) &&
	req "delete nodes n3" | grep -q "^ok" &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n6\"},\"spec\":{\"podCIDR\":\"$x\",\"podCIDRs\":[\"$x\"]}}" | grep -q "^ok" &&
	node n7 &&
	wait_for "objs events default | jq -r \"select(.reason == \\\"CIDRNotAvailable\\\") | .involvedObject.name\" | grep -qx n7" 20 0.2 &&
	test "$(cidr_of n6)" = "$x" &&
	test -z "$(cidr_of n7)"
'

test_done
