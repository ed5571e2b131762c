#!/bin/bash
test_description='the store keeps acknowledged writes across restarts, kill -9, torn tails and snapshots; damage stops it'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
DATA=$TEST_DIR/data

kv() {
	skiff -s "$SOCK" kv "$@"
}

# start NAME [--set ...]: a single member on $DATA, waited for.
start() {
	local name=$1
	shift
	start_daemon "$name" skiffd server --socket "$SOCK" --listen "" \
		--data-dir "$DATA" --set server.name=m1 "$@" &&
	wait_for "skiff -s \"$SOCK\" kv status" 10
}

last_segment() {
	ls "$DATA"/log/*.seg | tail -n 1
}

test_expect_success 'data survives a clean restart' '
	start s1 &&
	for i in 1 2 3 4 5; do kv put k$i v$i >/dev/null || return 1; done &&
	kv del k5 >/dev/null &&
	rev=$(kv status | sed -n "s/.*\"revision\":\([0-9]*\).*/\1/p") &&
	stop_daemon s1 &&
	start s2 &&
	test "$(kv get k3)" = v3 &&
	test_expect_code 3 skiff -s "$SOCK" kv get k5 2>/dev/null &&
	test "$(kv status | sed -n "s/.*\"revision\":\([0-9]*\).*/\1/p")" = "$rev"
'

test_expect_success 'kill -9 keeps every acknowledged write' '
	{ for i in $(seq 1 300); do
		skiff -s "$SOCK" kv put ack/$i $i >/dev/null 2>&1 && echo $i
	  done >acked; } &
	writer=$! &&
	wait_for "test \$(wc -l <acked) -ge 50" 20 &&
	kill -9 "$(daemon_pid s2)" &&
	wait $writer;
	n=$(wc -l <acked) &&
	test "$n" -ge 50 &&
	start s3 &&
	kv range ack/ + keys-only >all &&
	for i in $(cat acked); do
		grep -q "\"key\":\"ack/$i\"" all || { echo "lost ack/$i"; return 1; }
	done
'

test_expect_success 'a torn tail record is cut with a warning naming file and offset' '
	kv put torn/last x >/dev/null &&
	stop_daemon s3 &&
	seg=$(last_segment) &&
	truncate -s -3 "$seg" &&
	start s4 &&
	grep "segment .$seg.: torn record at offset [0-9]*" s4.log &&
	test "$(kv get k1)" = v1 &&
	kv put after/torn 1 >/dev/null &&
	stop_daemon s4 &&
	skiffd store verify "$DATA" >verify.out &&
	tail -n 1 verify.out | grep "verify ok"
'

test_expect_success 'a damaged record in the middle stops the server, naming file and offset' '
	cp -a "$DATA" "$TEST_DIR/data.good" &&
	seg=$(last_segment) &&
	printf "\\377\\377\\377\\377" | dd of="$seg" bs=1 seek=70 conv=notrunc 2>/dev/null &&
	test_expect_code 1 skiffd server --socket "$SOCK" --listen "" --data-dir "$DATA" \
		--set server.name=m1 2>err.log &&
	grep "segment .$seg.: record at offset [0-9]*" err.log &&
	test_must_fail skiffd store verify "$DATA" >verify.out 2>verify.err &&
	grep "$seg" verify.err &&
	grep "offset" verify.err
'

test_expect_success 'snapshots: taken every N entries, log compacted, restored on start' '
	rm -rf "$DATA" &&
	mv "$TEST_DIR/data.good" "$DATA" &&
	start s5 --set store.snapshot-every=20 &&
	for i in $(seq 1 60); do kv put snap/$i $i >/dev/null || return 1; done &&
	wait_for "ls \"$DATA\"/snap/*.snap" 10 &&
	grep "snapshot at index" s5.log &&
	stop_daemon s5 &&
	skiffd store dump "$DATA" >dump.out &&
	grep "^snapshot " dump.out &&
	start s6 --set store.snapshot-every=20 &&
	grep "restored snapshot" s6.log &&
	test "$(kv get snap/60)" = 60 &&
	test "$(kv get k2)" = v2 &&
	test "$(kv range snap/ + count-only | sed -n "s/.*total=//p")" = 60
'

test_expect_success 'a watch resumes after a restart from its last revision' '
	r=$(kv put wr/a 1 | sed "s/rev=//") &&
	stop_daemon s6 &&
	start s7 &&
	kv put wr/b 2 >/dev/null &&
	{ timeout 10 skiff -s "$SOCK" kv watch wr/ + rev=$r >w.out & } &&
	wait_for "test \$(wc -l <w.out) -ge 2" 10 &&
	head -n 1 w.out | grep "\"key\":\"wr/a\"" &&
	tail -n 1 w.out | grep "\"key\":\"wr/b\""
'

test_done
