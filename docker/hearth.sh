#!/bin/sh
# /usr/local/bin/hearth in the image: the `hearth` CLI, with three container-specific rules.
#  - `hearth up` as PID 1 (a `docker run` without --init) runs under tini, which reaps orphans
#    and forwards signals; under `init: true` / `--init` it is not PID 1 and runs directly.
#  - `hearth user ...` as root (what `docker exec` gives) runs as the user hearth: the mail store
#    belongs to the services, which run as hearth, and files root created there would lock them out.
#  - `hearth files ...` reads the container's config ($HEARTH_CONFIG), as `hearth up` does, for the
#    file service's listeners.
set -eu
cli=/opt/hearth/packages/cli/dist/main.js
if [ "$#" -eq 0 ] || [ "$1" = up ]; then
  [ "$#" -gt 0 ] && shift
  set -- up --config "${HEARTH_CONFIG:-/etc/hearth/hearth.yaml}" "$@"
  if [ "$$" -eq 1 ]; then exec tini -- node "$cli" "$@"; fi
  exec node "$cli" "$@"
fi
if [ "$1" = files ]; then
  shift
  set -- files --config "${HEARTH_CONFIG:-/etc/hearth/hearth.yaml}" "$@"
fi
if [ "$1" = user ] && [ "$(id -u)" -eq 0 ]; then
  exec setpriv --reuid=hearth --regid=hearth --init-groups -- node "$cli" "$@"
fi
exec node "$cli" "$@"
