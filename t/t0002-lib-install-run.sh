#!/bin/bash
test_description='make install lays out binaries, pages and examples; make run serves; systemd readiness'
. "$(dirname "$0")/lib.sh"

test_expect_success 'make install puts everything under DESTDIR/PREFIX' '
	make -C "$SRCDIR" --no-print-directory -s B="$SKIFF_BUILD" install \
		DESTDIR="$TEST_DIR/root" PREFIX=/usr SYSCONFDIR=/etc >install.log 2>&1 &&
	test -x root/usr/bin/skiff &&
	test -x root/usr/sbin/skiffd &&
	test -x root/usr/sbin/skiff-runtime &&
	test -f root/usr/share/man/man1/skiff.1 &&
	test -f root/usr/share/man/man5/skiffd.conf.5 &&
	test -f root/usr/share/man/man8/skiffd.8 &&
	test -f root/etc/skiff/skiffd.conf &&
	test -f root/usr/share/doc/skiff/examples/skiffd.conf &&
	root/usr/sbin/skiffd --check-config -c root/etc/skiff/skiffd.conf
'

test_expect_success 'make install keeps an edited /etc/skiff/skiffd.conf' '
	echo "; edited" >>root/etc/skiff/skiffd.conf &&
	make -C "$SRCDIR" --no-print-directory -s B="$SKIFF_BUILD" install \
		DESTDIR="$TEST_DIR/root" PREFIX=/usr SYSCONFDIR=/etc >install.log 2>&1 &&
	tail -n 1 root/etc/skiff/skiffd.conf | grep -q "; edited"
'

test_expect_success 'the run script starts a server that answers, and Ctrl-C stops it' '
	SKIFF_DATA="$TEST_DIR/data" SKIFF_SOCKET="$TEST_DIR/run/api.sock" \
		SKIFF_LISTEN="127.0.0.1:$(free_port)" \
		start_daemon demo "$SRCDIR/scripts/run-demo" &&
	wait_for "skiff -s \"$TEST_DIR/run/api.sock\" ping" 10 &&
	grep -q "skiff --server $TEST_DIR/run/api.sock ping" demo.log &&
	stop_daemon demo INT &&
	! test -e "$TEST_DIR/run/api.sock"
'

test_expect_success 'skiffd tells systemd READY=1 once the socket answers' '
	timeout 20 nc.openbsd -lkUu "$TEST_DIR/notify.sock" >notify.out &
	echo $! >nc.pid &&
	at_exit "kill $(cat nc.pid)" &&
	wait_for "test -S \"$TEST_DIR/notify.sock\"" 5 &&
	NOTIFY_SOCKET="$TEST_DIR/notify.sock" start_daemon notified \
		skiffd server --socket "$TEST_DIR/n.sock" --listen "" \
		--data-dir "$TEST_DIR/ndata" &&
	wait_for "grep -q READY=1 notify.out" 10 &&
	skiff -s "$TEST_DIR/n.sock" ping
'

test_done
