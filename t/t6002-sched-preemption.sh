#!/bin/bash
test_description='scheduler preemption: a pending pod of higher priority evicts lower-priority pods from the node where the fewest and least important must go, is nominated there and binds once they are gone; equal priority and preemptionPolicy Never do not preempt'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock

# node NAME CPU [LABELS-JSON]: a Ready Node object (no agent: nodes are
# only API objects here).
node() {
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s"%s}},"status":{"capacity":{"cpu":"%s","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"%s","memory":"8Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' \
		"$1" "$1" "${3:+,$3}" "$2" "$2"
}

# pod NAME CPU PRIORITY [EXTRA-SPEC-JSON]
pod() {
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{%s"priority":%s,"containers":[{"name":"c","image":"nginx","resources":{"requests":{"cpu":"%s","memory":"64Mi"}}}]}}' \
		"$1" "${4:+$4,}" "$3" "$2"
}

get() {
	req "get pods default $1"
}

node_of() {
	get "$1" | sed -n 's/.*"nodeName":"\([^"]*\)".*/\1/p'
}

bound() {
	test -n "$(node_of "$1")"
}

terminating() {
	get "$1" | grep -q '"deletionTimestamp"'
}

nominated() {
	get "$1" | sed -n 's/.*"nominatedNodeName":"\([^"]*\)".*/\1/p'
}

unschedulable() {
	get "$1" | grep -q '"reason":"Unschedulable"'
}

# create_on NODE NAME CPU PRIORITY: a pod bound at creation (spec.nodeName).
create_on() {
	req "create $(pod "$2" "$3" "$4" "\"nodeName\":\"$1\"")" | grep -q "^ok 1"
}

# gone POD: play the agent: finish the graceful delete.
finish() {
	req "delete pods default $1 grace=0" | grep -q "^ok 1"
}

test_expect_success 'skiffd starts; one node full of low-priority pods' '
	start_daemon skiffd skiffd server --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 \
		--set scheduler.backoff-initial=100ms --set scheduler.backoff-max=500ms &&
	wait_for "req \"list namespaces\" | grep -q \"^ok 4 \"" 10 &&
	req "create $(node n1 2 "\"pool\":\"a\"")" | grep -q "^ok 1" &&
	req "create $(pod low-1 1 1)" | grep -q "^ok 1" &&
	wait_for "bound low-1" 20 &&
	req "create $(pod low-2 1 1)" | grep -q "^ok 1" &&
	wait_for "bound low-2" 20 &&
	test "$(node_of low-1)" = n1 && test "$(node_of low-2)" = n1
'

test_expect_success 'a pod of equal priority does not preempt' '
	req "create $(pod equal 1 1)" | grep -q "^ok 1" &&
	wait_for "unschedulable equal" 20 &&
	! terminating low-1 && ! terminating low-2 &&
	test -z "$(nominated equal)" &&
	req "delete pods default equal" | grep -q "^ok 1"
'

test_expect_success 'a pod with preemptionPolicy Never does not preempt' '
	req "create $(pod never 1 100 "\"preemptionPolicy\":\"Never\"")" | grep -q "^ok 1" &&
	wait_for "unschedulable never" 20 &&
	! terminating low-1 && ! terminating low-2 &&
	test -z "$(nominated never)" &&
	req "delete pods default never" | grep -q "^ok 1"
'

test_expect_success 'the API refuses a priority beyond int32 and an unknown preemptionPolicy' '
	req "create $(pod bad 1 2147483648)" >out &&
	grep -q "spec.priority: Invalid value" out &&
	req "create $(pod bad 1 5 "\"preemptionPolicy\":\"Always\"")" >out &&
	grep -q "spec.preemptionPolicy: Unsupported value" out
'

test_expect_success 'a higher-priority pod preempts the newest low pod gracefully and is nominated' '
	req "create $(pod high 1 100)" | grep -q "^ok 1" &&
	wait_for "terminating low-2" 20 &&
	wait_for "test \"\$(nominated high)\" = n1" 20 &&
	wait_for "unschedulable high" 20 &&
	! terminating low-1 &&
	! bound high &&
	get low-2 | grep -q "\"deletionGracePeriodSeconds\":30"
'

test_expect_success 'Preempted and Preempting events are recorded' '
	wait_for "req \"list events default\" | grep -q \"Preempted by default/high on node n1\"" 20 &&
	req "list events default" | grep "Preempted by default/high on node n1" >ev &&
	grep -q "\"reason\":\"Preempted\"" ev &&
	grep -q "\"name\":\"low-2\"" ev &&
	wait_for "req \"list events default\" | grep -q \"Preempting 1 pod(s) on node n1\"" 20
'

test_expect_success 'while its victim terminates, the preemptor preempts no more and a lower pod gets no room' '
	req "create $(pod sneaky 1 0)" | grep -q "^ok 1" &&
	wait_for "unschedulable sneaky" 20 &&
	! terminating low-1 &&
	! bound high
'

test_expect_success 'once the victim is gone the preemptor binds on the nominated node' '
	finish low-2 &&
	wait_for "bound high" 20 &&
	test "$(node_of high)" = n1 &&
	! bound sneaky &&
	! terminating low-1 &&
	req "delete pods default sneaky" | grep -q "^ok 1"
'

test_expect_success 'the node whose victims have the lowest priority is chosen' '
	req "create $(node n2 2 "\"pool\":\"b\"")" "create $(node n3 2 "\"pool\":\"b\"")" >out &&
	test "$(grep -c "^ok 1" out)" = 2 &&
	create_on n2 b2-1 1 5 && create_on n2 b2-2 1 5 &&
	create_on n3 b3-1 1 3 && create_on n3 b3-2 1 3 &&
	req "create $(pod pick-b 2 100 "\"nodeSelector\":{\"pool\":\"b\"}")" | grep -q "^ok 1" &&
	wait_for "test \"\$(nominated pick-b)\" = n3" 20 &&
	wait_for "terminating b3-1 && terminating b3-2" 20 &&
	! terminating b2-1 && ! terminating b2-2 &&
	finish b3-1 && finish b3-2 &&
	wait_for "bound pick-b" 20 &&
	test "$(node_of pick-b)" = n3
'

test_expect_success 'the node needing fewer victims is chosen' '
	req "create $(node n4 2 "\"pool\":\"c\"")" "create $(node n5 2 "\"pool\":\"c\"")" >out &&
	test "$(grep -c "^ok 1" out)" = 2 &&
	create_on n4 c4-1 1 3 && create_on n4 c4-2 1 3 &&
	create_on n5 c5-1 2 3 &&
	req "create $(pod pick-c 2 100 "\"nodeSelector\":{\"pool\":\"c\"}")" | grep -q "^ok 1" &&
	wait_for "test \"\$(nominated pick-c)\" = n5" 20 &&
	wait_for "terminating c5-1" 20 &&
	! terminating c4-1 && ! terminating c4-2 &&
	finish c5-1 &&
	wait_for "bound pick-c" 20 &&
	test "$(node_of pick-c)" = n5
'

test_expect_success 'a more important preemptor on the same node takes the nomination from a lesser one' '
	req "create $(node n6 2 "\"pool\":\"d\"")" | grep -q "^ok 1" &&
	create_on n6 d-1 2 1 &&
	req "create $(pod mid 2 50 "\"nodeSelector\":{\"pool\":\"d\"}")" | grep -q "^ok 1" &&
	wait_for "test \"\$(nominated mid)\" = n6" 20 &&
	wait_for "terminating d-1" 20 &&
	req "create $(pod top 2 100 "\"nodeSelector\":{\"pool\":\"d\"}")" | grep -q "^ok 1" &&
	wait_for "test \"\$(nominated top)\" = n6" 20 &&
	wait_for "test -z \"\$(nominated mid)\"" 20 &&
	finish d-1 &&
	wait_for "bound top" 20 &&
	test "$(node_of top)" = n6 &&
	! bound mid
'

test_expect_success 'the server stops cleanly' '
	stop_daemon skiffd &&
	grep -q "preemptions evicted" "$TEST_DIR/skiffd.log"
'

test_done
