#!/usr/bin/env bash
# Builds the Docker image the container tests run, without any registry:
# a root filesystem holding Debian's statically linked busybox and its
# applet links (/bin/sh, sleep, echo, cat, head, tail, nc, httpd, ...),
# imported with `docker import` and tagged corral/busybox:test (or $1).
#
# Idempotent: does nothing when the image is already there. Needs a
# running Docker daemon and apt-get (Debian's busybox-static package).
set -euo pipefail

image="${1:-corral/busybox:test}"

fail() {
    echo "build-test-image: $*" >&2
    exit 1
}

command -v docker >/dev/null 2>&1 ||
    fail "docker is not installed: the container tests need Docker"
docker version >/dev/null 2>&1 ||
    fail "the Docker daemon does not answer (is it running, and may this user use it?)"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "build-test-image: $image is there"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
    fail "$image is missing and this is not a Debian-like system (no apt-get) to get busybox-static from"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# `apt-get download` needs no root; refresh the package lists only when the
# package is unknown to them (a fresh machine has empty lists).
if ! apt-get download busybox-static >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
    echo "build-test-image: updating the package lists"
    "${as_root[@]}" apt-get update -q >/dev/null || fail "apt-get update failed"
    apt-get download busybox-static >/dev/null || fail "apt-get download busybox-static failed"
fi
deb=$(ls busybox-static_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || fail "apt-get download did not leave a busybox-static package"

dpkg-deb -x "$deb" pkg || fail "cannot unpack $deb"
busybox=pkg/bin/busybox
[ -x "$busybox" ] || fail "$deb holds no bin/busybox"

mkdir -p rootfs/bin rootfs/sbin rootfs/usr/bin rootfs/usr/sbin rootfs/tmp rootfs/etc \
    rootfs/proc rootfs/sys rootfs/dev rootfs/root rootfs/var/www
chmod 1777 rootfs/tmp
cp "$busybox" rootfs/bin/busybox
# One link per applet, where busybox itself says each belongs.
"$busybox" --list-full | while read -r applet; do
    [ -e "rootfs/$applet" ] || [ -L "rootfs/$applet" ] || ln -s /bin/busybox "rootfs/$applet"
done
# (-L: the links point into the image, not at this machine's files.)
[ -L rootfs/bin/sh ] || fail "busybox has no sh applet"
echo 'root:x:0:0:root:/root:/bin/sh' >rootfs/etc/passwd
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>rootfs/etc/passwd
echo 'root:x:0:' >rootfs/etc/group
echo 'nogroup:x:65534:' >>rootfs/etc/group

tar -C rootfs -c . | docker import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$image" >/dev/null || fail "docker import failed"
docker image inspect "$image" >/dev/null 2>&1 || fail "$image was imported but cannot be inspected"
echo "build-test-image: built $image from $deb"
