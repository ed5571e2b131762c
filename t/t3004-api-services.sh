#!/bin/bash
test_description='Service cluster IPs and node ports allocated by the API server: picked, requested, refused when taken or out of range, headless, released on delete, distinct under concurrent creates, a full range, kept across a restart'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-store.sh"

SOCK=$TEST_DIR/api.sock
SOCK2=$TEST_DIR/small.sock
REQ_TIMEOUT=20 # req (lib.sh): creates of many Services wait for their allocations

body() {
	sed -n 2p "$1"
}

# svc NAME [SPEC-JSON-MEMBERS] [NAMESPACE]: a Service with port 80 unless
# the members give ports
svc() {
	local ports='"ports":[{"port":80}]'
	case "${2:-}" in *'"ports"'*) ports= ;; esac
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"%s"},"spec":{"selector":{"app":"%s"}%s%s}}' \
		"$1" "${3:-default}" "$1" "${ports:+,$ports}" "${2:+,$2}"
}

# val FILE NAME: the string or number value of "NAME" in the body
val() {
	body "$1" | grep -o "\"$2\":\(\"[^\"]*\"\|[0-9]*\)" | head -n 1 | sed "s/^\"$2\"://; s/\"//g"
}

# claim KEY: the claim key's value (the holder), unescaped; empty when none
claim() {
	req "kv get $1" | sed -n 2p | sed 's/\\"/"/g'
}

start_server() {
	start_daemon "$1" skiffd server --socket "$2" --listen "" --set server.peer-listen= \
		--data-dir "$TEST_DIR/$1" --set server.name=m1 --set scheduler.enabled=false --set controllers.enabled=false "${@:3}" &&
	wait_for "REQ_SOCK=$2 req \"get namespaces default\" | grep -q \"^ok 1\"" 30
}

test_expect_success 'skiffd starts with the default ranges' '
	start_server skiffd "$SOCK"
'

test_expect_success 'a ClusterIP service gets an address from 10.96.0.0/12, also in clusterIPs' '
	req "create $(svc web)" >out &&
	head -n 1 out | grep -q "^ok 1 rev=[0-9]* created$" &&
	ip=$(val out clusterIP) &&
	echo "$ip" | grep -qE "^10\.(9[6-9]|10[0-9]|11[01])\.[0-9]+\.[0-9]+$" &&
	test "$ip" != 10.96.0.1 &&
	body out | grep -q "\"clusterIPs\":\[\"$ip\"\]" &&
	req "get services default web" >got &&
	test "$(val got clusterIP)" = "$ip"
'

test_expect_success 'the claim key names the service' '
	ip=$(val out clusterIP) &&
	claim "/registry/ranges/serviceips/$ip" >claim &&
	grep -q "\"name\":\"web\"" claim &&
	grep -q "\"namespace\":\"default\"" claim
'

test_expect_success 'a requested address is given; the same address again is 422' '
	req "create $(svc dns "\"clusterIP\":\"10.96.0.10\"")" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	test "$(val out clusterIP)" = 10.96.0.10 &&
	req "create $(svc dns2 "\"clusterIP\":\"10.96.0.10\"")" >out &&
	grep -x "error 422 Invalid Service \"dns2\" is invalid: spec.clusterIP: Invalid value: \"10.96.0.10\": provided IP is already allocated" out
'

test_expect_success 'an address outside the service network is 422' '
	req "create $(svc far "\"clusterIP\":\"10.0.0.5\"")" >out &&
	grep -x "error 422 Invalid Service \"far\" is invalid: spec.clusterIP: Invalid value: \"10.0.0.5\": provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12" out &&
	req "create $(svc net "\"clusterIP\":\"10.96.0.0\"")" >out &&
	grep -q "^error 422 Invalid .*not in the valid range" out
'

test_expect_success 'the kubernetes address 10.96.0.1 is given only when asked for' '
	req "create $(svc kubernetes "\"clusterIP\":\"10.96.0.1\"")" >out &&
	test "$(val out clusterIP)" = 10.96.0.1
'

test_expect_success 'headless (None) and ExternalName services get no address' '
	req "create $(svc headless "\"clusterIP\":\"None\"")" >out &&
	test "$(val out clusterIP)" = None &&
	body out | grep -q "\"clusterIPs\":\[\"None\"\]" &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"ext\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example.com\"}}" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	! body out | grep -q clusterIP &&
	req "kv range /registry/ranges/serviceips/ +" >claims &&
	! grep -q None claims
'

test_expect_success 'delete releases the address: it can be requested again' '
	req "delete services default dns" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	req "kv get /registry/ranges/serviceips/10.96.0.10" | grep -q "^error 404" &&
	req "create $(svc dns2 "\"clusterIP\":\"10.96.0.10\"")" >out &&
	test "$(val out clusterIP)" = 10.96.0.10
'

test_expect_success 'update and apply that leave the cluster IP out keep it; changing it is 422' '
	req "get services default web" >old &&
	ip=$(val old clusterIP) &&
	req "update $(svc web "\"sessionAffinity\":\"ClientIP\"")" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	test "$(val out clusterIP)" = "$ip" &&
	req "apply $(svc web)" >out &&
	head -n 1 out | grep -q "^ok 1 .* configured$" &&
	test "$(val out clusterIP)" = "$ip" &&
	req "update $(svc web "\"clusterIP\":\"10.96.0.77\"")" >out &&
	grep -q "^error 422 Invalid Service \"web\" is invalid: spec.clusterIP: Invalid value: \"10.96.0.77\": field is immutable" out
'

test_expect_success 'NodePort: ports get node ports from 30000-32767; TCP and UDP of a port share one' '
	req "create $(svc np "\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":53,\"protocol\":\"TCP\"},{\"name\":\"c\",\"port\":53,\"protocol\":\"UDP\"}]")" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	body out | grep -o "\"nodePort\":[0-9]*" | sed "s/.*://" >ports &&
	test_line_count = 3 ports &&
	for p in $(cat ports); do
		test "$p" -ge 30000 && test "$p" -le 32767 || return 1
	done &&
	test "$(sed -n 2p ports)" = "$(sed -n 3p ports)" &&
	test "$(sed -n 1p ports)" != "$(sed -n 2p ports)" &&
	claim "/registry/ranges/servicenodeports/$(sed -n 1p ports)" | grep -q "\"name\":\"np\""
'

test_expect_success 'a requested node port is given; taken or out of range is 422' '
	req "create $(svc np1 "\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]")" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	req "create $(svc np2 "\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]")" >out &&
	grep -x "error 422 Invalid Service \"np2\" is invalid: spec.ports\[0\].nodePort: Invalid value: 30080: provided port is already allocated" out &&
	req "create $(svc np3 "\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":40000}]")" >out &&
	grep -x "error 422 Invalid Service \"np3\" is invalid: spec.ports\[0\].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767" out &&
	req "get services default np2" | grep -q "^error 404" &&
	req "create $(svc np4 "\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\",\"port\":80,\"nodePort\":30090},{\"name\":\"b\",\"port\":81,\"nodePort\":30090}]")" >out &&
	grep -q "^error 422 Invalid .*spec.ports\[1\].nodePort: Duplicate value: 30090" out
'

test_expect_success 'a refused create claims nothing: its cluster IP stays free' '
	req "create $(svc bad "\"clusterIP\":\"10.96.0.99\",\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]")" >out &&
	grep -q "^error 422 " out &&
	req "create $(svc good "\"clusterIP\":\"10.96.0.99\"")" >out &&
	head -n 1 out | grep -q "^ok 1 "
'

test_expect_success 'type NodePort to ClusterIP releases the node ports, and back allocates' '
	req "update $(svc np1)" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	! body out | grep -q nodePort &&
	req "create $(svc np2 "\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]")" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	req "update $(svc np1 "\"type\":\"NodePort\"")" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	np=$(val out nodePort) &&
	test -n "$np" && test "$np" != 30080 &&
	req "update $(svc np1 "\"type\":\"NodePort\"")" >out2 &&
	test "$(val out2 nodePort)" = "$np"
'

test_expect_success 'type ClusterIP to ExternalName releases the address' '
	req "create $(svc flip "\"clusterIP\":\"10.96.0.200\"")" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	req "update {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"flip\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"x.example.com\",\"clusterIP\":\"10.96.0.200\"}}" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	! body out | grep -q clusterIP &&
	req "create $(svc flop "\"clusterIP\":\"10.96.0.200\"")" >out &&
	head -n 1 out | grep -q "^ok 1 "
'

test_expect_success 'a service held by a finalizer keeps its address until it is gone' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"fin\",\"finalizers\":[\"x/y\"]},\"spec\":{\"clusterIP\":\"10.96.0.201\",\"ports\":[{\"port\":80}]}}" >out &&
	req "delete services default fin" >out &&
	grep -q "^ok 1 .* terminating$" out &&
	req "create $(svc fin2 "\"clusterIP\":\"10.96.0.201\"")" | grep -q "already allocated" &&
	req "patch services default fin {\"metadata\":{\"finalizers\":null}}" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	req "create $(svc fin2 "\"clusterIP\":\"10.96.0.201\"")" >out &&
	head -n 1 out | grep -q "^ok 1 "
'

test_expect_success 'deleting a namespace releases what its services held' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"gone\"}}" >/dev/null &&
	req "create $(svc s1 "\"clusterIP\":\"10.96.0.202\",\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30202}]" gone)" >out &&
	head -n 1 out | grep -q "^ok 1 " &&
	req "delete namespaces gone" >/dev/null &&
	wait_for "req \"get namespaces gone\" | grep -q \"^error 404\"" 30 &&
	req "create $(svc s2 "\"clusterIP\":\"10.96.0.202\",\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30202}]")" >out &&
	head -n 1 out | grep -q "^ok 1 "
'

test_expect_success '50 concurrent creates get 50 distinct addresses' '
	pids= &&
	for i in $(seq 1 50); do
		req "create $(svc c$i "\"type\":\"NodePort\"")" >c$i.out &
		pids="$pids $!"
	done &&
	wait $pids &&
	test "$(cat c*.out | grep -c "^ok 1 rev=")" = 50 &&
	for i in $(seq 1 50); do val c$i.out clusterIP; done | sort -u >ips &&
	test_line_count = 50 ips &&
	for i in $(seq 1 50); do val c$i.out nodePort; done | sort -u >nps &&
	test_line_count = 50 nps
'

test_expect_success 'a restart keeps the allocations' '
	req "get services default web" >before &&
	ip=$(val before clusterIP) &&
	stop_daemon skiffd &&
	start_server skiffd "$SOCK" &&
	req "get services default web" >after &&
	test "$(val after clusterIP)" = "$ip" &&
	req "create $(svc again "\"clusterIP\":\"$ip\"")" | grep -q "provided IP is already allocated" &&
	req "create $(svc again2 "\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]")" |
		grep -q "provided port is already allocated"
'

test_expect_success 'the repair claims what old Services hold and drops stray claims' '
	legacy="{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"legacy\",\"namespace\":\"default\",\"uid\":\"u-legacy\"},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.150\",\"ports\":[{\"port\":80,\"nodePort\":30150}]}}" &&
	skiff -s "$SOCK" kv put /registry/services/default/legacy "$legacy" &&
	skiff -s "$SOCK" kv put /registry/ranges/serviceips/10.96.0.151 \
		"{\"kind\":\"Service\",\"namespace\":\"default\",\"name\":\"nobody\",\"uid\":\"u\"}" &&
	skiff -s "$SOCK" kv put /registry/ranges/servicenodeports/30151 \
		"{\"kind\":\"Service\",\"namespace\":\"default\",\"name\":\"web\",\"uid\":\"u\"}" &&
	stop_daemon skiffd &&
	# the running server may already have repaired (its first run comes
	# a second after it starts): keep its log, the restart truncates it
	cp skiffd.log before-restart.log &&
	start_server skiffd "$SOCK" &&
	wait_for "claim /registry/ranges/serviceips/10.96.0.150 | grep -q \"\\\"name\\\":\\\"legacy\\\"\"" 30 &&
	claim /registry/ranges/servicenodeports/30150 | grep -q "\"name\":\"legacy\"" &&
	wait_for "req \"kv get /registry/ranges/serviceips/10.96.0.151\" | grep -q \"^error 404\"" 30 &&
	wait_for "req \"kv get /registry/ranges/servicenodeports/30151\" | grep -q \"^error 404\"" 30 &&
	req "create $(svc taken "\"clusterIP\":\"10.96.0.150\"")" | grep -q "provided IP is already allocated" &&
	cat before-restart.log skiffd.log >both.log &&
	grep -q "claim repair: claimed ./registry/ranges/serviceips/10.96.0.150. for service \"default/legacy\"" both.log &&
	test "$(grep -c "claim repair: released" both.log)" = 2
'

test_expect_success 'a /29 fills up: 5 addresses, then "range is full"; a delete frees one' '
	start_server small "$SOCK2" --set server.service-cidr=10.100.0.0/29 \
		--set server.service-node-port-range=31000-31001 &&
	export REQ_SOCK=$SOCK2 &&
	test_when_finished "unset REQ_SOCK" &&
	pids= &&
	for i in $(seq 1 7); do
		req "create $(svc f$i)" >f$i.out &
		pids="$pids $!"
	done &&
	wait $pids &&
	test "$(cat f*.out | grep -c "^ok 1 rev=")" = 5 &&
	test "$(cat f*.out | grep -c "^error 500 InternalError Internal error occurred: failed to allocate a serviceIP: range is full (service-cidr 10.100.0.0/29)$")" = 2 &&
	for i in $(seq 1 7); do val f$i.out clusterIP; done | sort >ips &&
	printf "10.100.0.%s\n" 2 3 4 5 6 >expect &&
	test_cmp expect ips &&
	victim=$(grep -l "\"clusterIP\":\"10.100.0.4\"" f*.out | sed "s/\.out//") &&
	req "delete services default $victim" | grep -q "^ok 1 " &&
	req "create $(svc last)" >out &&
	test "$(val out clusterIP)" = 10.100.0.4
'

test_expect_success 'a picked node port avoids one a later port of the same Service asks for' '
	export REQ_SOCK=$SOCK2 &&
	test_when_finished "unset REQ_SOCK" &&
	for try in 1 2 3 4 5; do
		req "create $(svc asks "\"clusterIP\":\"10.100.0.1\",\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81,\"nodePort\":31000}]")" >out &&
		head -n 1 out | grep -q "^ok 1 " &&
		body out | grep -q "\"name\":\"a\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80,\"nodePort\":31001" &&
		req "delete services default asks" | grep -q "^ok 1 " || return 1
	done
'

test_expect_success 'node ports fill up too' '
	export REQ_SOCK=$SOCK2 &&
	test_when_finished "unset REQ_SOCK" &&
	req "create $(svc kubernetes "\"clusterIP\":\"10.100.0.1\",\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81},{\"name\":\"c\",\"port\":82}]")" >out &&
	grep -x "error 500 InternalError Internal error occurred: failed to allocate a nodePort: range is full (service-node-port-range 31000-31001)" out &&
	req "create $(svc kubernetes "\"clusterIP\":\"10.100.0.1\",\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81}]")" >out &&
	head -n 1 out | grep -q "^ok 1 "
'

test_expect_success 'bad ranges are refused at start with a clear message' '
	test_must_fail skiffd --check-config --set server.service-cidr=10.0.0.0/8 2>err &&
	grep -q "server.service-cidr: service network .10.0.0.0/8. must be a /12 to /30" err &&
	test_must_fail skiffd --check-config --set server.service-cidr=10.244.0.0/20 2>err &&
	grep -q "agent.cluster-cidr 10.244.0.0/16 and server.service-cidr 10.244.0.0/20 overlap" err &&
	test_must_fail skiffd server --socket "$TEST_DIR/bad.sock" --listen "" \
		--set server.peer-listen= --data-dir "$TEST_DIR/bad" \
		--set server.service-node-port-range=32767-30000 2>err &&
	grep -q "server.service-node-port-range: bad port range .32767-30000." err &&
	! test -e "$TEST_DIR/bad"
'

# ---- a 3-member control plane ----

# reqn N LINE...: the lines to member N
reqn() {
	local n=$1
	shift
	REQ_SOCK=$TEST_DIR/s$n.sock req "$@"
}

# check_cluster N: through member N, every Service holds distinct values,
# and the claims are exactly what the Services hold, each naming its holder.
check_cluster() {
	reqn "$1" "list services" | sed 1d >all &&
	grep -o "\"clusterIP\":\"[0-9.]*\"" all | sed "s/.*:\"//; s/\"//" | sort >held &&
	sort -u held >uheld && test_cmp held uheld &&
	grep -o "\"nodePort\":[0-9]*" all | sed "s/.*://" | sort >nheld &&
	sort -u nheld >unheld && test_cmp nheld unheld &&
	reqn "$1" "kv range /registry/ranges/serviceips/ + keys-only" | sed 1d |
		sed "s/.*serviceips\/\([0-9.]*\)\".*/\1/" | sort >claims &&
	test_cmp held claims &&
	reqn "$1" "kv range /registry/ranges/servicenodeports/ + keys-only" | sed 1d |
		sed "s/.*servicenodeports\/\([0-9]*\)\".*/\1/" | sort >nclaims &&
	test_cmp nheld nclaims
}

test_expect_success 'a 3-member control plane starts (small ranges: collisions are likely)' '
	store_ports 3 &&
	for n in 1 2 3; do
		member $n --set scheduler.enabled=false --set server.service-cidr=10.110.0.0/25 \
			--set server.service-node-port-range=30000-30099 || return 1
	done &&
	wait_for "all_agree 1 2 3" 15 &&
	wait_for "reqn 1 \"get namespaces default\" | grep -q \"^ok 1\"" 15
'

test_expect_success 'concurrent creates through all three members get distinct values' '
	pids= &&
	for i in $(seq 1 30); do
		reqn $((i % 3 + 1)) "create $(svc m$i "\"type\":\"NodePort\"")" >m$i.out &
		pids="$pids $!"
	done &&
	wait $pids &&
	test "$(cat m*.out | grep -c "^ok 1 rev=")" = 30 &&
	check_cluster 1 &&
	test_line_count = 30 held &&
	test_line_count = 30 nheld
'

test_expect_success 'creates across a leader change still never share a value' '
	leader=$(all_agree 1 2 3) && n=${leader#m} &&
	pids= &&
	for i in $(seq 31 50); do
		reqn $((i % 3 + 1)) "create $(svc m$i "\"type\":\"NodePort\"")" >m$i.out &
		pids="$pids $!"
		if test $i = 38; then kill9 $n || return 1; fi
	done &&
	wait $pids;
	others=$(echo 1 2 3 | tr " " "\n" | grep -v "^$n$" | tr "\n" " ") &&
	wait_for "all_agree $others" 15 &&
	for i in $(seq 51 60); do
		o=$(echo $others | cut -d" " -f$((i % 2 + 1))) &&
		reqn $o "create $(svc m$i "\"type\":\"NodePort\"")" >m$i.out &
		pids="$pids $!"
	done &&
	wait $pids;
	test "$(cat m5[1-9].out m60.out | grep -c "^ok 1 rev=")" = 10 &&
	member $n --set scheduler.enabled=false --set server.service-cidr=10.110.0.0/25 \
		--set server.service-node-port-range=30000-30099 &&
	wait_for "all_agree 1 2 3" 15 &&
	o=$(echo $others | cut -d" " -f1) &&
	check_cluster $o &&
	test_line_count -ge 40 held &&
	wait_for "check_cluster $n" 15
'

test_done
