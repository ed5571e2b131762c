#!/bin/bash
test_description='cluster DNS on loopback: service, headless, SRV, PTR, pod names, NXDOMAIN/NODATA, truncation and TCP, forwarding only when configured'
. "$(dirname "$0")/lib.sh"

cd "$TEST_DIR" || exit 1

# q ARGS...: ask the server under test (dns-query, never the host's resolver).
q() {
	dns-query --timeout 3000 "$@"
}

# many_endpoints N: an Endpoints list for headless "many" with N addresses.
many_endpoints() {
	local i sep=
	printf '{"metadata": {"name": "many", "namespace": "default"}, "subsets": [{"addresses": ['
	for i in $(seq 1 "$1"); do
		printf '%s{"ip": "10.244.0.%d"}' "$sep" "$i"
		sep=,
	done
	printf ']}]}'
}

test_expect_success 'the server starts on a port of its own and reports it' '
	cat >svc.json <<-\EOF &&
	[{"metadata": {"name": "web", "namespace": "default"},
	  "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}},
	 {"metadata": {"name": "db", "namespace": "prod"},
	  "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}},
	 {"metadata": {"name": "many", "namespace": "default"}, "spec": {"clusterIP": "None"}}]
	EOF
	{
		echo "[{\"metadata\": {\"name\": \"db\", \"namespace\": \"prod\"},"
		echo " \"subsets\": [{\"addresses\": [{\"ip\": \"10.244.1.5\", \"hostname\": \"db-0\"}],"
		echo "  \"notReadyAddresses\": [{\"ip\": \"10.244.2.6\"}],"
		echo "  \"ports\": [{\"name\": \"pg\", \"port\": 5432}]}]},"
		many_endpoints 60
		echo "]"
	} >ep.json &&
	start_daemon dns dns-serve --listen 127.0.0.1:0 --port-file port svc.json ep.json &&
	wait_for "test -s port" 10 &&
	PORT=$(cat port) &&
	test "$PORT" -gt 0
'
PORT=$(cat "$TEST_DIR/port" 2>/dev/null)
S=127.0.0.1:$PORT

test_expect_success 'a service name answers its cluster IP, authoritatively' '
	q "$S" web.default.svc.cluster.local >out &&
	cat >expect <<-\EOF &&
	rcode NOERROR flags qr aa rd
	answer web.default.svc.cluster.local 30 A 10.96.0.10
	EOF
	test_cmp expect out
'

test_expect_success 'the answer keeps the spelling of the question' '
	q "$S" Web.DEFAULT.svc.cluster.local >out &&
	grep "^answer Web.DEFAULT.svc.cluster.local 30 A 10.96.0.10$" out
'

test_expect_success 'SRV of a named port, with the address in the additional section' '
	q "$S" _http._tcp.web.default.svc.cluster.local SRV >out &&
	cat >expect <<-\EOF &&
	rcode NOERROR flags qr aa rd
	answer _http._tcp.web.default.svc.cluster.local 30 SRV 0 100 80 web.default.svc.cluster.local
	additional web.default.svc.cluster.local 30 A 10.96.0.10
	EOF
	test_cmp expect out
'

test_expect_success 'a headless service answers its ready endpoints only' '
	q "$S" db.prod.svc.cluster.local >out &&
	grep -c "^answer " out >count && echo 1 >expect && test_cmp expect count &&
	grep "^answer db.prod.svc.cluster.local 30 A 10.244.1.5$" out &&
	q "$S" db-0.db.prod.svc.cluster.local >out &&
	grep "^answer db-0.db.prod.svc.cluster.local 30 A 10.244.1.5$" out
'

test_expect_success 'PTR of a cluster IP and pod names' '
	q "$S" 10.0.96.10.in-addr.arpa PTR >out &&
	grep "^answer 10.0.96.10.in-addr.arpa 30 PTR web.default.svc.cluster.local$" out &&
	q "$S" 10-244-3-7.any.pod.cluster.local >out &&
	grep "^answer 10-244-3-7.any.pod.cluster.local 30 A 10.244.3.7$" out
'

test_expect_success 'NXDOMAIN for a missing name, NODATA for another type, both with the SOA' '
	q "$S" nosuch.default.svc.cluster.local >out &&
	head -1 out >first && echo "rcode NXDOMAIN flags qr aa rd" >expect && test_cmp expect first &&
	grep "^authority cluster.local 30 SOA ns.dns.cluster.local hostmaster.cluster.local 1 7200 1800 86400 30$" out &&
	q "$S" web.default.svc.cluster.local AAAA >out &&
	head -1 out >first && echo "rcode NOERROR flags qr aa rd" >expect && test_cmp expect first &&
	! grep "^answer" out &&
	grep "^authority cluster.local 30 SOA" out
'

test_expect_success 'names outside the cluster are REFUSED when no upstream is configured' '
	q "$S" example.org >out &&
	echo "rcode REFUSED flags qr rd" >expect &&
	test_cmp expect out
'

test_expect_success 'a large answer is truncated over UDP and whole over TCP' '
	q "$S" many.default.svc.cluster.local >out &&
	echo "rcode NOERROR flags qr aa tc rd" >expect && test_cmp expect out &&
	q --tcp "$S" many.default.svc.cluster.local >out &&
	grep -c "^answer many.default.svc.cluster.local 30 A 10.244.0." out >count &&
	echo 60 >expect && test_cmp expect count &&
	q --edns 1232 "$S" many.default.svc.cluster.local >out &&
	grep -c "^answer " out >count && test_cmp expect count
'

test_expect_success 'SIGHUP swaps in a new zone built from the files' '
	sed "s/10.96.0.10/10.96.0.11/" svc.json >svc.new && mv svc.new svc.json &&
	kill -HUP "$(daemon_pid dns)" &&
	wait_for "q \"$S\" web.default.svc.cluster.local | grep -q 10.96.0.11" 10
'

test_expect_success 'with an upstream, other names are forwarded to it (a stub on loopback)' '
	echo "[{\"metadata\": {\"name\": \"www\", \"namespace\": \"x\"}, \"spec\": {\"clusterIP\": \"192.0.2.7\"}}]" >stub.json &&
	start_daemon stub dns-serve --listen 127.0.0.1:0 --port-file stubport --domain example.test stub.json &&
	wait_for "test -s stubport" 10 &&
	start_daemon fwd dns-serve --listen 127.0.0.1:0 --port-file fwdport \
		--upstream "127.0.0.1:$(cat stubport)" --timeout 300 svc.json ep.json &&
	wait_for "test -s fwdport" 10 &&
	q "127.0.0.1:$(cat fwdport)" www.x.svc.example.test >out &&
	cat >expect <<-\EOF &&
	rcode NOERROR flags qr rd ra
	answer www.x.svc.example.test 30 A 192.0.2.7
	EOF
	test_cmp expect out &&
	q "127.0.0.1:$(cat fwdport)" web.default.svc.cluster.local >out &&
	grep "^answer web.default.svc.cluster.local 30 A 10.96.0.11$" out
'

test_expect_success 'a dead upstream gives SERVFAIL within the timeout' '
	stop_daemon stub &&
	start=$(date +%s%N) &&
	q "127.0.0.1:$(cat fwdport)" other.example.test >out &&
	took=$((($(date +%s%N) - start) / 1000000)) &&
	echo "rcode SERVFAIL flags qr rd ra" >expect &&
	test_cmp expect out &&
	test "$took" -lt 2000
'

test_expect_success 'dig agrees, when it is installed' '
	if ! command -v dig >/dev/null; then
		say "dig not installed: skipped"
	else
		dig @127.0.0.1 -p "$PORT" +short web.default.svc.cluster.local >out &&
		echo 10.96.0.11 >expect && test_cmp expect out
	fi
'

test_expect_success 'the server stops cleanly on SIGTERM' '
	stop_daemon dns &&
	grep "^dns-serve: queries udp" "$TEST_DIR/dns.log"
'

test_done
