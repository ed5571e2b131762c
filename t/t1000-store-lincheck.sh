#!/bin/bash
test_description='lincheck: the history checker the store fault-injection tests use'
. "$(dirname "$0")/lib.sh"

test_expect_success 'a history with a concurrent read and a timed-out cas is linearizable' '
	cat >ok.hist <<-\EOF &&
	# from the format description
	init x 1
	c1 100 250 put x 2 -> ok
	c2 120 300 get x -> 1
	c2 310 -   cas x 2 3 -> ?
	c3 400 420 get x -> 3
	c3 430 440 put a%20b <empty> -> ok
	c1 450 460 get a%20b -> <empty>
	EOF
	lincheck ok.hist >out &&
	echo linearizable >expect &&
	test_cmp expect out
'

test_expect_success 'a stale read is NOT linearizable, exit 1, naming the ops' '
	cat >stale.hist <<-\EOF &&
	c1 0 10 put x a -> ok
	c1 20 30 put x b -> ok
	c2 40 50 get x -> a
	c3 0 50 put y z -> ok
	EOF
	test_expect_code 1 lincheck stale.hist >out &&
	cat >expect <<-\EOF &&
	NOT linearizable: key '"'"'x'"'"': after 2 of 3 ops (last: line 2 `c1 20 30 put x b -> ok`) the value is '"'"'b'"'"' and no op can come next: line 3 `c2 40 50 get x -> a`: it read '"'"'a'"'"', the value is '"'"'b'"'"'
	EOF
	test_cmp expect out
'

test_expect_success '-v shows the longest linearizable prefix' '
	test_expect_code 1 lincheck -v stale.hist >out &&
	grep "^longest linearizable prefix (2 of 3 ops):" out &&
	grep "^  line 1 \`c1 0 10 put x a -> ok\` => '"'"'a'"'"'" out &&
	grep "^ops that could come next, none fits" out &&
	grep "^# 4 ops, 2 keys checked" out
'

test_expect_success 'a failed put whose value shows up is caught' '
	printf "%s\n" "c1 0 10 put x a -> fail" "c2 20 30 get x -> a" >failed.hist &&
	test_expect_code 1 lincheck failed.hist >out &&
	grep "no op ever writes '"'"'a'"'"'" out
'

test_expect_success 'several files: each named, worst exit status wins' '
	test_expect_code 1 lincheck ok.hist stale.hist >out &&
	grep "^ok.hist: linearizable$" out &&
	grep "^stale.hist: NOT linearizable: key" out
'

test_expect_success 'a history on stdin' '
	echo "c1 0 10 get k -> <nil>" | lincheck - >out &&
	grep "^linearizable$" out
'

test_expect_success 'malformed lines exit 2 naming file and line' '
	printf "%s\n" "c1 0 10 put x a -> ok" "c1 30 20 get x -> a" >bad1.hist &&
	test_expect_code 2 lincheck bad1.hist 2>err &&
	grep "^lincheck: bad1.hist:2: returns before it is invoked$" err &&
	printf "%s\n" "# header" "c1 0 10 frob x -> ok" >bad2.hist &&
	test_expect_code 2 lincheck bad2.hist 2>err &&
	grep "^lincheck: bad2.hist:2: unknown op '"'"'frob'"'"'" err &&
	printf "%s\n" "c1 0 10 put x a -> ok" "c1 5 20 get x -> a" >bad3.hist &&
	test_expect_code 2 lincheck bad3.hist 2>err &&
	grep "^lincheck: bad3.hist:2: client '"'"'c1'"'"' overlaps its own op at line 1$" err &&
	printf "%s\n" "c1 0 10 put x a%G1 -> ok" >bad4.hist &&
	test_expect_code 2 lincheck bad4.hist 2>err &&
	grep "^lincheck: bad4.hist:1: bad percent escape" err
'

test_expect_success 'bad input beats a failed check, and a missing file is bad input' '
	test_expect_code 2 lincheck stale.hist bad1.hist missing.hist >out 2>err &&
	grep "open '"'"'missing.hist'"'"': No such file or directory" err
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 lincheck &&
	test_expect_code 2 lincheck -s many ok.hist &&
	test_expect_code 2 lincheck -q ok.hist
'

test_expect_success 'an exhausted step budget is undecided and fails' '
	{
		i=0 &&
		while [ $i -lt 14 ]; do
			echo "p$i 0 100 put x v$i -> ok" &&
			echo "g$i 0 100 get x -> v$i" &&
			i=$((i + 1)) || return 1
		done &&
		echo "r 0 100 get x -> nobody"
	} >hard.hist &&
	test_expect_code 1 lincheck -s 1000 hard.hist >out &&
	grep "^undecided: key '"'"'x'"'"' (29 ops): gave up after 1000 search steps" out
'

test_done
