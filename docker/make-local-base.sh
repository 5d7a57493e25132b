#!/bin/sh
# Build a stand-in for the official node:*-bookworm-slim image on a machine that cannot pull
# images: a Debian bookworm base from debootstrap with libatomic1 (node 26 links to it, and the
# official images install it; a kept base without it gets it from the mirror), plus node and its
# headers of the official image's line (HEARTH_NODE_VERSION, default 26 as in docker/Dockerfile:
# the newest release of that line, from the npm registry's node-linux-<arch> package, which holds
# the release's binary and headers) and this machine's npm, laid out as the official images have
# them (/usr/local/bin/node, /usr/local/include/node, /usr/local/lib/node_modules/npm). Then build
# Hearth on it with
#
#   docker build -f docker/Dockerfile --build-arg NODE_IMAGE=local/node:bookworm-slim -t hearth .
#
# Needs root (debootstrap), debootstrap, a Debian mirror, the npm registry, npm on this machine,
# and a running docker daemon. The host's CA bundle is copied in and given to node as
# NODE_EXTRA_CA_CERTS, so a registry reached through a TLS-inspecting proxy works as on the host.
# Tags: local/debian:bookworm (kept if it exists) and local/node:bookworm-slim.
#
#   make-local-base.sh --fetch DIR
#
# only fetches, with no docker daemon: Debian's root file system into DIR/debian.tar and Node's
# package into DIR/node-linux-<arch>-<version>.tgz. With HEARTH_BASE_FETCHED=DIR, a later run
# builds from those instead of fetching them (the container test fetches while the suite runs).
set -eu

fetch_dir=
if [ "${1-}" = --fetch ]; then
  fetch_dir=${2:?usage: make-local-base.sh --fetch DIR}
  mkdir -p "$fetch_dir"
fi
fetched=${HEARTH_BASE_FETCHED-}

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
# Removed however the script ends: a hangup, an interrupt or a stop (which end a shell without its
# EXIT trap) exit through it too. What debootstrap had mounted under it when it was killed (/proc,
# /sys, /dev and its bind mounts of the host's /dev/shm and /dev/pts) is unmounted first, deepest
# first, and rm stays on the folder's own file system: it never reaches into a mount it missed.
remove_work() {
  awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  rm -rf --one-file-system "$work"
}
trap remove_work EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Debian's root file system as a tar stream on stdout (redirected to a file: run in this shell,
# a failure ends the script).
debian_root() {
  echo "debootstrap bookworm (minbase, libatomic1) from $MIRROR ..." >&2
  debootstrap --variant=minbase --include=libatomic1 bookworm "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/root" -c .
  rm -rf "$work/root"
}

if [ -n "$fetch_dir" ]; then
  debian_root >"$fetch_dir/debian.tar.part"
  mv "$fetch_dir/debian.tar.part" "$fetch_dir/debian.tar"
elif ! docker image inspect local/debian:bookworm >/dev/null 2>&1; then
  if [ -n "$fetched" ] && [ -f "$fetched/debian.tar" ]; then
    docker import - local/debian:bookworm <"$fetched/debian.tar"
  else
    debian_root >"$work/debian.tar"
    docker import - local/debian:bookworm <"$work/debian.tar"
  fi
fi

node_version=${HEARTH_NODE_VERSION:-26}
case $(uname -m) in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
if [ -n "$fetch_dir" ]; then
  npm pack --silent --pack-destination "$fetch_dir" "node-linux-$arch@$node_version" >/dev/null
  echo "fetched into $fetch_dir: $(cd "$fetch_dir" && echo debian.tar node-linux-"$arch"-*.tgz)"
  exit 0
fi
mkdir "$work/node"
if [ -n "$fetched" ] && [ -f "$(echo "$fetched"/node-linux-"$arch"-*.tgz)" ]; then
  cp "$fetched"/node-linux-"$arch"-*.tgz "$work/node/"
else
  npm pack --silent --pack-destination "$work/node" "node-linux-$arch@$node_version" >/dev/null
fi
tar -xzf "$work"/node/node-linux-"$arch"-*.tgz -C "$work/node"
prefix=$work/node/package
node_bin=$prefix/bin/node
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$prefix/include/node/common.gypi" ] || { echo "no node headers in $prefix/include/node" >&2; exit 1; }

mkdir -p "$work/ctx/include"
cp "$node_bin" "$work/ctx/node"
cp -a "$prefix/include/node" "$work/ctx/include/node"
cp -a "$npm_dir" "$work/ctx/npm"
cas=
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$work/ctx/ca-certificates.crt"
  cas='COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'
fi
cat >"$work/ctx/Dockerfile" <<EOF
FROM local/debian:bookworm
COPY node /usr/local/bin/node
COPY include/node /usr/local/include/node
COPY npm /usr/local/lib/node_modules/npm
$cas
RUN { dpkg -s libatomic1 >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends libatomic1 \
      && rm -rf /var/lib/apt/lists/*; }; } \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
EOF
DOCKER_BUILDKIT=0 docker build -q -t local/node:bookworm-slim "$work/ctx"
echo "built local/node:bookworm-slim (node $("$node_bin" --version))"
