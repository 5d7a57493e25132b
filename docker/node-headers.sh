#!/bin/sh
# Copy node's headers (PREFIX/include/node) to DEST/include/node for node-gyp (npm_config_nodedir),
# with node::ObjectWrap as Node.js had it up to 24.18 and 26.3: without a cleanup hook per object.
#
#   docker/node-headers.sh PREFIX DEST          e.g. docker/node-headers.sh /usr/local /opt/node-headers
#
# Why: from 24.19 and 26.4 the header's ObjectWrap adds an environment cleanup hook for each object and
# removes it in its destructor, which needs the isolate's current context to find the Node.js
# environment. When V8 collects such an object while no context is entered, the removal finds
# none and Node.js aborts the process: "Assertion failed: (env) != nullptr" in
# node::RemoveEnvironmentCleanupHook (nodejs/node#65446, open; 24.22.3 still has it).
# better-sqlite3 12 wraps every database, statement and iterator in an ObjectWrap, so a service
# compiled against those headers dies with SIGABRT whenever one of its dropped statements is
# collected at such a moment (seen on Node 24.21 in the suite: pop3 while starting, the biff demo).
# The class is defined whole in the header, so an addon compiled against the copy gets the older
# destructor, and the runtime is untouched. The hook only deletes objects still alive when an
# environment ends (a worker thread's end, or the process's); better-sqlite3 closes its databases
# at that moment with a hook of its own.
#
# Headers without the per-object hook (Node.js 20, 22, 24 before 24.19, 26 before 26.4) are copied
# unchanged.
# Fails when the header has the hook in a form this script does not remove.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 PREFIX DEST" >&2; exit 2; }
src=$1/include/node
dest=$2/include/node
[ -f "$src/node_object_wrap.h" ] || { echo "no node headers in $src" >&2; exit 1; }

mkdir -p "$dest"
cp -a "$src/." "$dest/"
header=$dest/node_object_wrap.h
if grep -q 'EnvironmentCleanupHook' "$header"; then
  sed -i -E '/^[[:space:]]*(Add|Remove)CleanupHook\(\);[[:space:]]*$/d' "$header"
  if grep -Eq '(Add|Remove)CleanupHook\(\);' "$header"; then
    echo "$header: ObjectWrap still calls its cleanup hook functions" >&2
    exit 1
  fi
  echo "node headers in $dest: ObjectWrap without its per-object cleanup hook"
else
  echo "node headers in $dest: copied unchanged (ObjectWrap has no per-object cleanup hook)"
fi
