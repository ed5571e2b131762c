#!/bin/bash
test_description='skiff-runtime security defaults: capabilities, seccomp, no_new_privs, users, CVE-2019-5736'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle
DEFAULT_CAPS=00000000a80425fb

inside() {
	set_args "$B" sh -c "$1" && rt run --bundle "$B" "s$test_count"
}

test_expect_success 'setup bundle' '
	make_bundle "$B"
'

test_expect_success 'capabilities are the 14 defaults, inheritable and ambient empty' '
	inside "grep ^Cap /proc/self/status" >out &&
	grep -x "CapEff:	$DEFAULT_CAPS" out &&
	grep -x "CapPrm:	$DEFAULT_CAPS" out &&
	grep -x "CapBnd:	$DEFAULT_CAPS" out &&
	grep -x "CapInh:	0000000000000000" out &&
	grep -x "CapAmb:	0000000000000000" out
'

test_expect_success 'seccomp filter and no_new_privs are on' '
	inside "grep -E \"^(Seccomp|NoNewPrivs):\" /proc/self/status" >out &&
	grep -x "Seccomp:	2" out &&
	grep -x "NoNewPrivs:	1" out
'

test_expect_success 'namespace creation and mounts are refused by seccomp' '
	inside "unshare -n true 2>&1; unshare -U true 2>&1; mount -t tmpfs t /tmp 2>&1; true" >out &&
	test $(grep -c "unshare(.*Operation not permitted" out) = 2 &&
	grep "mount: permission denied" out
'

test_expect_success 'device nodes cannot be made, fifos can' '
	inside "mknod /dev/shm/sda b 8 0 2>&1; mknod /dev/shm/mem c 1 1 2>&1; mknod /dev/shm/p p && echo fifo-ok" >out &&
	test $(grep -c "Operation not permitted" out) = 2 &&
	grep fifo-ok out
'

test_expect_success 'a configured user and groups are used' '
	edit_config "$B" ".process.user = {uid: 65534, gid: 65534, additionalGids: [5]}" &&
	inside "id -u; id -g; id -G; grep ^CapEff /proc/self/status" >out &&
	printf "65534\n65534\n65534 5\nCapEff:\t0000000000000000\n" >expect && test_cmp expect out
'

test_expect_success 'a user name is resolved in the container /etc/passwd' '
	edit_config "$B" ".process.user = {uid: 0, gid: 0, username: \"nobody\"}" &&
	inside "id -u" >out &&
	echo 65534 >expect && test_cmp expect out &&
	edit_config "$B" ".process.user = {uid: 0, gid: 0}"
'

test_expect_success 'a reduced capability set is applied exactly' '
	edit_config "$B" ".process.capabilities = {bounding: [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"], effective: [\"CAP_KILL\"], permitted: [\"CAP_KILL\"]}" &&
	inside "grep -E \"^Cap(Eff|Bnd)\" /proc/self/status" >out &&
	grep -x "CapEff:	0000000000000020" out &&
	grep -x "CapBnd:	0000000000000420" out
'

test_expect_success 'seccomp from config.json: a denied syscall fails with the errno asked' '
	edit_config "$B" "del(.process.capabilities) | .linux.seccomp = {defaultAction: \"SCMP_ACT_ALLOW\", syscalls: [{names: [\"mkdirat\", \"mkdir\"], action: \"SCMP_ACT_ERRNO\", errnoRet: 13}]}" &&
	inside "mkdir /dev/shm/d 2>&1; true" >out &&
	grep "Permission denied" out &&
	edit_config "$B" "del(.linux.seccomp)"
'

test_expect_success 'exec gets the same security settings' '
	set_args "$B" sleep 60 &&
	rt run -d --bundle "$B" e1 &&
	rt exec e1 grep -E "^(CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/self/status >out &&
	grep -x "CapEff:	$DEFAULT_CAPS" out &&
	grep -x "CapBnd:	$DEFAULT_CAPS" out &&
	grep -x "Seccomp:	2" out &&
	grep -x "NoNewPrivs:	1" out &&
	rt exec e1 sh -c "ls /proc/self/fd | tr \"\n\" \" \"" >out &&
	printf "0 1 2 3 " >expect && test_cmp expect out
'

test_expect_success 'CVE-2019-5736: the process entering the container runs from a read-only view' '
	skiff-runtime --root "$RT_STATE" exec e1 sleep 30 &
	cli=$! &&
	wait_for "grep -q SKIFF_RUNTIME_EXE= /proc/$cli/environ" 5 &&
	test "$(readlink /proc/$cli/exe)" != "$SKIFF_BUILD/bin/skiff-runtime" &&
	test_must_fail sh -c "echo x >>/proc/$cli/exe" 2>err &&
	cat err &&
	cmp -n $(stat -L -c %s /proc/$cli/exe) "$SKIFF_BUILD/bin/skiff-runtime" /proc/$cli/exe &&
	kill $cli && wait $cli; true
'

# The attack of CVE-2019-5736, from inside the container: the exec'd
# process is a script whose interpreter is /proc/self/exe, so the
# runtime's binary runs inside the container (its libraries are copied
# into the rootfs) and blocks opening a fifo ("--log FIFO"; the
# shebang argument --root swallows the script path). A second
# exec'd process (the attacker, with the container's capabilities and
# seccomp filter) finds it, keeps an fd of /proc/PID/exe, tries to
# write through it while the runtime runs, lets it go, and tries again
# by re-opening /proc/self/fd/3 once nothing executes the binary any
# more. Attacked and attacking runtime are separate copies of the
# binary (the attacker's own `exec` keeps its binary busy), so the
# write would land in the copy, never in the build.
ATTACK='
p=
i=0
while [ -z "$p" ] && [ $i -lt 100 ]; do
	for d in /proc/[0-9]*; do
		case "$(tr "\0" " " <$d/cmdline 2>/dev/null)" in
		"/proc/self/exe --root"*) p=${d#/proc/} ;;
		esac
	done
	[ -n "$p" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$p" ] || { echo "no runtime process found"; exit 1; }
exec 3</proc/$p/exe || { echo "cannot open /proc/$p/exe"; exit 1; }
if echo x 2>/dev/shm/err1 >>/proc/$p/exe; then echo "alive: WROTE"; else echo "alive: $(cat /dev/shm/err1)"; fi
cat /tmp/cve-fifo >/dev/null
i=0
while [ -d /proc/$p ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
i=0
while [ $i -lt 100 ]; do
	if echo x 2>/dev/shm/err2 >>/proc/self/fd/3; then echo "after exit: WROTE"; exit 1; fi
	grep -q "busy" /dev/shm/err2 || break
	sleep 0.1
	i=$((i + 1))
done
echo "after exit: $(cat /dev/shm/err2)"
'

# cve_attack HOW EXPECTED: the attack against a runtime protected by HOW
# ("view": the read-only bind mount; "memfd": the fallback, forced by
# SKIFF_RUNTIME_SELFEXE=memfd); the write after exit must fail with
# EXPECTED.
# Two copies of the runtime (and of the binary it launches, where
# skiff-runtime is the libc-free launcher of runtime/launcher/ in front
# of libexec/skiff-runtime): rtA is the target, rtB the attacker's way in.
cve_attack() {
	local how=$1 expected=$2 d=$TEST_DIR/cve-$1 real=bin/skiff-runtime f
	[ -x "$SKIFF_BUILD/libexec/skiff-runtime" ] && real=libexec/skiff-runtime
	for f in bin/skiff-runtime $real; do
		mkdir -p "$d/rtA/${f%/*}" "$d/rtB/${f%/*}" &&
		cp "$SKIFF_BUILD/$f" "$d/rtA/$f" && cp "$SKIFF_BUILD/$f" "$d/rtB/$f" || return 1
	done
	for lib in $(ldd "$d/rtA/$real" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		mkdir -p "$B/rootfs${lib%/*}" && cp -L "$lib" "$B/rootfs$lib" || return 1
	done &&
	printf '#!/proc/self/exe --root\n' >"$B/rootfs/evil" && chmod 755 "$B/rootfs/evil" &&
	rm -f "$B/rootfs/tmp/cve-fifo" && mkfifo "$B/rootfs/tmp/cve-fifo" &&
	set_args "$B" sleep 60 &&
	rt run -d --bundle "$B" "cve-$how" || return 1
	if [ "$how" = memfd ]; then export SKIFF_RUNTIME_SELFEXE=memfd; fi
	{ "$d/rtA/bin/skiff-runtime" --root "$RT_STATE" exec "cve-$how" /evil --log /tmp/cve-fifo state nosuch >/dev/null 2>&1 & }
	"$d/rtB/bin/skiff-runtime" --root "$RT_STATE" exec "cve-$how" sh -c "$ATTACK" >out 2>&1
	unset SKIFF_RUNTIME_SELFEXE
	cat out &&
	grep "^alive: .*\(Read-only file system\|Text file busy\)" out &&
	grep -x "after exit: .*$expected" out &&
	cmp "$d/rtA/$real" "$SKIFF_BUILD/$real" &&
	cmp "$d/rtA/bin/skiff-runtime" "$SKIFF_BUILD/bin/skiff-runtime" &&
	rt delete --force "cve-$how"
}

test_expect_success 'CVE-2019-5736: a container cannot write the runtime binary through /proc/PID/exe' '
	cve_attack view "Read-only file system"
'

test_expect_success 'CVE-2019-5736: nor through the sealed memfd fallback' '
	cve_attack memfd "Operation not permitted"
'

test_expect_success 'the monitor is invisible inside the container' '
	rt exec e1 ps -o comm >out &&
	! grep skiff out
'

test_expect_success 'the host binary is never the exe of an exec process' '
	rt exec e1 sh -c "cat /proc/\$PPID/cmdline >/dev/null; readlink /proc/self/exe" >out &&
	grep -x /bin/busybox out &&
	rt delete --force e1
'

test_done
