#!/bin/bash
test_description='skiff-runtime image: import OCI dirs, OCI tars and docker save tars of a
busybox image built locally, share layers, mount them with overlayfs, refuse hostile
layers, rm and gc'
. "$(dirname "$0")/lib.sh"

require_root
command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] ||
	skip_all "needs busybox (Debian package busybox-static)"

export SKIFF_IMAGE_ROOT=$TEST_DIR/images
# The image verbs reach rt_image_cli() only once cmd/skiff-runtime.c
# dispatches "image" to it; until then there is nothing to test here.
out=$(skiff-runtime image list 2>&1)
case $out in
REPOSITORY*) ;;
*) skip_all "skiff-runtime does not dispatch 'image' to rt_image_cli() yet" ;;
esac

mkimage=$SRCDIR/t/mkimage

# layer_dirs REF: the overlay lowerdir string of REF (top first), read
# from `image inspect` without jq.
layer_dirs() {
	skiff-runtime image inspect "$1" |
		sed -n '/"LayerDirs"/,/]/p' | grep -o '"/[^"]*"' | tr -d '"' | paste -sd:
}

test_expect_success 'build a busybox image and one with a second layer' '
	"$mkimage" busybox-rootfs rootfs &&
	echo low >rootfs/var/lowerfile &&
	mkdir -p top/etc top/var &&
	echo "hello from top" >top/hello &&
	: >top/etc/.wh.group &&
	: >top/var/.wh..wh..opq &&
	echo new >top/var/new &&
	"$mkimage" -t busybox:test -o bb-oci --oci-tar bb.tar --docker-tar bb-docker.tar \
		--cmd "[\"sh\"]" rootfs >/dev/null &&
	"$mkimage" -t app:1 -z zstd -o app-oci rootfs top >/dev/null
'

test_expect_success 'import an OCI layout directory' '
	skiff-runtime image import bb-oci >out &&
	grep "^imported busybox:test sha256:" out
'

test_expect_success 'import an OCI layout tar under another name' '
	skiff-runtime image import --name bb:tar bb.tar >out &&
	grep "^imported bb:tar sha256:" out
'

test_expect_success 'import a docker save tar' '
	skiff-runtime image import --name bb:docker bb-docker.tar >out &&
	grep "^imported bb:docker sha256:" out
'

test_expect_success 'list shows all three; they share one layer directory' '
	skiff-runtime image list >out &&
	head -1 out | grep "^REPOSITORY  *TAG  *DIGEST  *SIZE  *CREATED$" &&
	grep "^busybox  *test " out &&
	grep "^bb  *tar " out &&
	grep "^bb  *docker " out &&
	skiff-runtime image list -q >names &&
	test_line_count = 3 names &&
	ls "$SKIFF_IMAGE_ROOT/layers" >layers &&
	test_line_count = 1 layers
'

test_expect_success 'an image with a common base adds only its own layer' '
	skiff-runtime image import app-oci &&
	ls "$SKIFF_IMAGE_ROOT/layers" >layers &&
	test_line_count = 2 layers
'

test_expect_success 'the overlay of the layers shows whiteouts and opaque dirs applied' '
	lower=$(layer_dirs app:1) &&
	case $lower in *:*) ;; *) false ;; esac &&
	mkdir mnt &&
	unshare -m sh -c "
		mount --make-rprivate / &&
		mount -t overlay overlay -o ro,lowerdir=$lower mnt &&
		chroot mnt /bin/sh -c \"
			test \\\"\\\$(cat /hello)\\\" = \\\"hello from top\\\" &&
			! test -e /etc/group && test -f /etc/passwd &&
			test -f /var/new && ! test -e /var/lowerfile\"
	" &&
	! grep -q " $TEST_DIR/mnt " /proc/mounts
'

test_expect_success 'a layer with a device node is refused and leaves nothing behind' '
	mkdir -p bad/dev &&
	mknod bad/dev/sda b 8 0 &&
	"$mkimage" -t bad:1 -o bad-oci bad >/dev/null &&
	test_must_fail skiff-runtime image import bad-oci 2>err &&
	grep "^skiff-runtime: import .*entry .\./dev/sda.: block device 8:0 not allowed" err &&
	test -z "$(ls "$SKIFF_IMAGE_ROOT/tmp")" &&
	ls "$SKIFF_IMAGE_ROOT/layers" >layers &&
	test_line_count = 2 layers &&
	! skiff-runtime image list -q | grep bad
'

# A fresh store: a blob the store already holds is not read again.
test_expect_success 'a blob with a wrong digest is refused' '
	cp -a bb-oci corrupt &&
	for f in corrupt/blobs/sha256/*; do
		if gzip -t "$f" 2>/dev/null; then printf x >>"$f"; fi
	done &&
	test_must_fail env SKIFF_IMAGE_ROOT="$TEST_DIR/fresh" \
		skiff-runtime image import --name corrupt:1 corrupt 2>err &&
	grep "^skiff-runtime: import .*digest mismatch" err &&
	test -z "$(ls "$TEST_DIR/fresh/layers")" &&
	test -z "$(SKIFF_IMAGE_ROOT=$TEST_DIR/fresh skiff-runtime image list -q)"
'

test_expect_success 'rm + gc remove only the layers nothing references' '
	skiff-runtime image rm app:1 &&
	skiff-runtime image gc >out &&
	grep "and 1 layers" out &&
	ls "$SKIFF_IMAGE_ROOT/layers" >layers &&
	test_line_count = 1 layers &&
	skiff-runtime image rm busybox:test bb:tar bb:docker &&
	skiff-runtime image gc &&
	test -z "$(ls "$SKIFF_IMAGE_ROOT/layers")" &&
	test -z "$(ls "$SKIFF_IMAGE_ROOT/blobs/sha256")"
'

test_expect_success 'unknown references fail with a clear error' '
	test_must_fail skiff-runtime image rm nope:1 2>err &&
	grep "^skiff-runtime: image .nope:1. not found" err &&
	test_must_fail skiff-runtime image inspect nope 2>err &&
	grep "^skiff-runtime: image .nope.: image .nope:latest. not found" err
'

test_done
