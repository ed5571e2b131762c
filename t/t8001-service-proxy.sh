#!/bin/bash
test_description='service: the proxy suites run inside a lab node and touch no other ruleset'
. "$(dirname "$0")/lib.sh"

# The proxy's kernel checks live in the Check suite t/unit/test_proxy_nft.c
# (there is no agent to drive it yet): each of its tests programs the
# table in network namespaces of its own and sends its connections over
# their loopback. Here the suite runs from inside a lab node namespace,
# as an extra fence around the host, and the script checks that neither
# the node nor the host kept a table. The `nft` tool is only used by
# this script to look; the product never runs it.

require_root
[ -x "$SKIFF_BUILD/t/unit/test_proxy_nft" ] ||
	skip_all "no '$SKIFF_BUILD/t/unit/test_proxy_nft' (run make unit first)"
command -v nft >/dev/null || skip_all "needs nft (to inspect rulesets)"

test_expect_success 'lab: a switch and one node' '
	lab_switch &&
	lab_node n1 192.168.91.1/24 &&
	lab_exec n1 nft list ruleset >n1.before
'

test_expect_success 'proxy suite passes inside the node, nothing skipped' '
	lab_exec n1 "$SKIFF_BUILD/t/unit/test_proxy_nft" >proxy.out 2>&1 &&
	grep -q "^100%" proxy.out &&
	! grep -q "SKIP" proxy.out
'

test_expect_success 'the node ruleset is left as it was' '
	lab_exec n1 nft list ruleset >n1.after &&
	test_cmp n1.before n1.after
'

test_expect_success 'the host has no skiff-proxy table' '
	nft list tables >host.after &&
	! grep -q skiff-proxy host.after
'

test_done
