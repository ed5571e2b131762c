#!/bin/bash
test_description='net: the netlink, pod network and masquerade suites run inside a lab node and leave no trace'
. "$(dirname "$0")/lib.sh"

# The kernel-facing checks of net/ live in the Check suites
# t/unit/test_net_netlink.c, t/unit/test_podnet.c and t/unit/test_masq.c
# (there is no command-line driver for the library yet): each of their
# tests moves into network namespaces of its own. Here they run from inside a lab
# node namespace, as an extra fence around the host, and the script
# checks that neither the node nor the host kept anything.

require_root
for suite in test_net_netlink test_podnet test_masq; do
	[ -x "$SKIFF_BUILD/t/unit/$suite" ] ||
		skip_all "no '$SKIFF_BUILD/t/unit/$suite' (run make unit first)"
done
command -v busybox >/dev/null || skip_all "needs busybox (ping)"

host_links() {
	ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
}

test_expect_success 'lab: a switch and one node' '
	lab_switch &&
	lab_node n1 192.168.90.1/24 &&
	lab_exec n1 ip -o link show | awk -F": " "{print \$2}" | sort >n1.before
'

test_expect_success 'netlink suite passes inside the node, nothing skipped' '
	lab_exec n1 "$SKIFF_BUILD/t/unit/test_net_netlink" >netlink.out 2>&1 &&
	grep -q "^100%" netlink.out &&
	! grep -q "SKIP" netlink.out
'

test_expect_success 'pod network suite passes inside the node, nothing skipped' '
	lab_exec n1 "$SKIFF_BUILD/t/unit/test_podnet" >podnet.out 2>&1 &&
	grep -q "^100%" podnet.out &&
	! grep -q "SKIP" podnet.out
'

test_expect_success 'masquerade suite passes inside the node, nothing skipped' '
	lab_exec n1 "$SKIFF_BUILD/t/unit/test_masq" >masq.out 2>&1 &&
	grep -q "^100%" masq.out &&
	! grep -q "SKIP" masq.out
'

test_expect_success 'the node namespace is left as it was' '
	lab_exec n1 ip -o link show | awk -F": " "{print \$2}" | sort >n1.after &&
	test_cmp n1.before n1.after &&
	! lab_exec n1 ip route show proto 201 | grep -q . &&
	! lab_exec n1 nft list tables | grep -q .
'

test_expect_success 'the host has no skiff links' '
	host_links >host.after &&
	! grep -E "^(skf|skp|skiff0)" host.after
'

test_done
