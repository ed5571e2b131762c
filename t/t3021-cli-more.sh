#!/bin/bash
test_description='skiff(1), the later verbs: completion, wait, apply/create --dry-run, diff, edit re-opening on an invalid object'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
export SKIFF_SERVER=$SOCK
unset SKIFF_TOKEN SKIFF_EDITOR
# No user config file may leak into the test.
export HOME=$TEST_DIR/home
mkdir -p "$HOME"
SRC=$(cd "$(dirname "$0")/.." && pwd)

# raw LINE: one request line on its own connection, the answer printed.
raw() {
	printf '%s\n' "$1" | timeout 10 nc.openbsd -N -U "$SOCK"
}

test_expect_success 'completion bash prints the installed script, zsh adds bashcompinit' '
	skiff completion bash >out &&
	test_cmp "$SRC/etc/bash_completion.d/skiff" out &&
	skiff completion zsh >out &&
	head -n 1 out | grep -qx "autoload -U +X bashcompinit && bashcompinit" &&
	tail -n +2 out >rest &&
	test_cmp "$SRC/etc/bash_completion.d/skiff" rest &&
	test_expect_code 2 skiff completion fish 2>err &&
	grep -q "usage: skiff completion bash|zsh" err &&
	bash -c ". <(skiff completion bash) && complete -p skiff" >out &&
	grep -q "_skiff" out
'

test_expect_success 'skiffd starts' '
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "skiff get ns 2>/dev/null | grep -q kube-system" 10
'

test_done
