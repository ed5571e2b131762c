# t/lib-runtime.sh: helpers for the skiff-runtime tests (t2NNN-runtime-*).
# Source after t/lib.sh. Needs root and /bin/busybox (busybox-static).
#
# Every test gets its own state root ($RT_STATE) and cgroup root
# ($SKIFF_RUNTIME_CGROUP_ROOT, beneath the test's own cgroups); both are
# removed at exit together with any container still around.

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"

RT_STATE=$TEST_DIR/state
SKIFF_RUNTIME_CGROUP_ROOT=skiff-test-$LAB_TAG
export RT_STATE SKIFF_RUNTIME_CGROUP_ROOT

rt() {
	skiff-runtime --root "$RT_STATE" "$@"
}

# The cgroup directories this test's containers may use, one per line.
rt_cgroup_dirs() {
	local line ctrl path mnt
	while IFS=: read -r _ ctrl path; do
		if [ -z "$ctrl" ]; then
			mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
		else
			mnt=$(awk -v c="$ctrl" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $5 }' /proc/self/mountinfo | head -1)
		fi
		[ -n "$mnt" ] && echo "$mnt${path%/}/$SKIFF_RUNTIME_CGROUP_ROOT"
	done </proc/self/cgroup | sort -u
}

rt_cleanup() {
	local id d
	for id in $(rt list -q 2>/dev/null); do
		rt delete --force "$id" >/dev/null 2>&1
	done
	for d in $(rt_cgroup_dirs); do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	return 0
}
at_exit rt_cleanup

# make_bundle DIR: a busybox rootfs and skiff's default config.json in
# DIR; set the process with set_args DIR ARG...
make_bundle() {
	local b=$1 a
	mkdir -p "$b/rootfs/bin" "$b/rootfs/etc" "$b/rootfs/tmp" "$b/rootfs/root" &&
	cp /bin/busybox "$b/rootfs/bin/busybox" &&
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$b/rootfs/bin/$a"
	done &&
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$b/rootfs/etc/passwd" &&
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$b/rootfs/etc/group" &&
	(cd "$b" && skiff-runtime spec)
}

# edit_config DIR JQ-FILTER [jq args...]: change DIR/config.json in place.
edit_config() {
	local b=$1 f=$2
	shift 2
	jq "$f" "$@" <"$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}

set_args() {
	local b=$1
	shift
	local a json='[' sep=''
	for a in "$@"; do
		json="$json$sep$(printf '%s' "$a" | jq -R -s .)"
		sep=,
	done
	edit_config "$b" '.process.args = $a' --argjson a "$json]"
}

# The leftovers a container may leave: its state dir, its cgroups, its
# processes (by the tag in their command line).
no_cgroup_left() {
	local d
	for d in $(rt_cgroup_dirs); do
		[ -d "$d/$1" ] && { echo "cgroup left: $d/$1" >&2; return 1; }
	done
	return 0
}

no_state_left() {
	[ ! -e "$RT_STATE/$1" ] || { echo "state left: $RT_STATE/$1" >&2; return 1; }
}

# state_field ID FIELD
state_field() {
	rt state "$1" | jq -r ".$2"
}
