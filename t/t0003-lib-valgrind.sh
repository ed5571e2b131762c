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

test_done
