#!/bin/bash
test_description='make install lays out binaries, pages and examples; the run script refuses bad usage; systemd readiness'
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

# scripts/run-demo (make run) changes the network of the namespace it
# runs in: t9001-make-run.sh runs it inside a lab namespace. Here only
# what it refuses before touching anything.
test_expect_success 'the run script refuses bad usage and a missing namespace' '
	test_expect_code 1 "$SRCDIR/scripts/run-demo" bogus 2>err &&
	grep -q "usage: run-demo" err &&
	{ [ "$(id -u)" -ne 0 ] || SKIFF_NETNS=skiff-no-such-ns-$$ test_expect_code 1 "$SRCDIR/scripts/run-demo" 2>err &&
	grep -q "no network namespace" err; }
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
