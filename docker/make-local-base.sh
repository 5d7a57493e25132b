#!/bin/sh
# Build a stand-in for the official node:*-bookworm-slim image on a machine that cannot pull
# images: a Debian bookworm base from debootstrap, plus this machine's node, npm and node headers
# laid out as the official images have them (/usr/local/bin/node, /usr/local/include/node,
# /usr/local/lib/node_modules/npm). Then build Hearth on it with
#
#   docker build -f docker/Dockerfile --build-arg NODE_IMAGE=local/node:bookworm-slim -t hearth .
#
# Needs root (debootstrap), debootstrap, a Debian mirror, node and npm on this machine, and a
# running docker daemon. The host's CA bundle is copied in and given to node as
# NODE_EXTRA_CA_CERTS, so a registry reached through a TLS-inspecting proxy works as on the host.
# Tags: local/debian:bookworm (kept if it exists) and local/node:bookworm-slim.
set -eu

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! docker image inspect local/debian:bookworm >/dev/null 2>&1; then
  echo "debootstrap bookworm (minbase) from $MIRROR ..."
  debootstrap --variant=minbase bookworm "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  tar -C "$work/root" -c . | docker import - local/debian:bookworm
  rm -rf "$work/root"
fi

node_bin=$(command -v node)
node_bin=$(readlink -f "$node_bin")
prefix=$(dirname "$(dirname "$node_bin")")
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
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
EOF
DOCKER_BUILDKIT=0 docker build -q -t local/node:bookworm-slim "$work/ctx"
echo "built local/node:bookworm-slim (node $("$node_bin" --version))"
