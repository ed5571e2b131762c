#!/bin/bash
test_description='skiffd serving requests is valgrind-clean: no invalid accesses, no leaks'
. "$(dirname "$0")/lib.sh"

# Sanitizer builds cannot run under valgrind; the plain build is checked.
case "$SKIFF_BUILD" in
*-san) skip_all "valgrind runs on the plain build only" ;;
esac

SOCK=$TEST_DIR/api.sock
PORT=$(free_port)

test_expect_success 'skiffd starts under valgrind' '
	start_daemon vg valgrind --error-exitcode=9 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		skiffd server --socket "$SOCK" --listen "127.0.0.1:$PORT" \
		--data-dir "$TEST_DIR/data" &&
	wait_for "skiff -s \"$SOCK\" ping" 60
'

test_expect_success 'it serves pipelined, bad and over-long requests' '
	for i in $(seq 1 20); do
		skiff -s "$SOCK" version >/dev/null &&
		printf "ping\nversion\nbogus\nauth x\n" | timeout 20 nc.openbsd -N 127.0.0.1 "$PORT" >/dev/null ||
		return 1
	done &&
	{ head -c 1100000 /dev/zero | tr "\\0" x; echo; } >big &&
	timeout 20 nc.openbsd -N -U "$SOCK" <big >out 2>/dev/null;
	grep -q "^error 413" out
'

test_expect_success 'it exits cleanly on SIGTERM with no valgrind errors' '
	stop_daemon vg &&
	grep -q "ERROR SUMMARY: 0 errors" vg.log
'

# The controller manager as its own process (skiffd controllers): the
# election, the informers and a ReplicaSet's reconcile, create and
# delete under valgrind, against a plain server without controllers.
CSOCK=$TEST_DIR/c.sock

rs_json() {
	echo "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":$1,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}"
}

pods() {
	skiff -s "$CSOCK" get pods -l app=web -o name 2>/dev/null | wc -l
}

test_expect_success 'skiffd controllers under valgrind leads and reconciles a ReplicaSet' '
	start_daemon srv skiffd server --socket "$CSOCK" --listen "" \
		--data-dir "$TEST_DIR/cdata" --set controllers.enabled=false \
		--set scheduler.enabled=false &&
	wait_for "skiff -s \"$CSOCK\" ping" 20 &&
	start_daemon vgc valgrind --error-exitcode=9 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		skiffd controllers --server "$CSOCK" --set controllers.lease-duration=3s &&
	wait_for "grep -q \"controller manager started\" vgc.log" 60 &&
	rs_json 3 >rs.json &&
	skiff -s "$CSOCK" apply -f rs.json &&
	wait_for "test \$(pods) -eq 3" 60 &&
	rs_json 1 >rs.json &&
	skiff -s "$CSOCK" apply -f rs.json &&
	wait_for "test \$(pods) -le 1" 60 &&
	skiff -s "$CSOCK" delete replicasets web
'

test_expect_success 'skiffd controllers exits on SIGTERM with no valgrind errors' '
	stop_daemon vgc &&
	grep -q "ERROR SUMMARY: 0 errors" vgc.log &&
	stop_daemon srv
'

test_done
