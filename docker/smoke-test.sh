#!/usr/bin/env bash
# Opt-in smoke test of the Hearth image (not part of `pnpm test`): build the image, run it with
# host networking on loopback-only ports, add a user, send a mail over SMTP, read it over POP3 and
# POP3S, check who runs what, stop it with `docker stop` and check the exit was clean, start the
# same container again and find the mail still there, stop it again. Removes what it made.
#
#   docker/smoke-test.sh [--image IMAGE | --git-ref REF] [--node-image IMAGE] [--keep-image]
#
#   --image IMAGE       test this image instead of building one
#   --git-ref REF       build from `git archive REF` (e.g. HEAD) instead of the working tree
#   --node-image IMAGE  base image for the build (Dockerfile ARG NODE_IMAGE), e.g. the
#                       local/node:bookworm-slim that docker/make-local-base.sh makes
#   --keep-image        keep the image it built (tag hearth:smoke)
#
# Needs: a reachable docker daemon (DOCKER_HOST is honoured), curl, node. Without a daemon it
# fails (exit 2) saying so; it never skips. Exit 0 only if every check passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
image=''
node_image=''
git_ref=''
keep_image=0
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2 ;;
    --node-image) node_image=$2; shift 2 ;;
    --git-ref) git_ref=$2; shift 2 ;;
    --keep-image) keep_image=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "smoke-test: unknown argument $1" >&2; exit 64 ;;
  esac
done

export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
started=$(date +%s)
step() { printf '[%3ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { echo "smoke-test: FAIL: $*" >&2; exit 1; }

for tool in docker curl node; do
  command -v "$tool" >/dev/null || { echo "smoke-test: $tool not found" >&2; exit 2; }
done
docker info >/dev/null 2>&1 || { echo "smoke-test: no docker daemon reachable (DOCKER_HOST=${DOCKER_HOST:-default}); see docker/README.md" >&2; exit 2; }

work=$(mktemp -d)
name="hearth-smoke-$$"
built=''
cleanup() {
  docker rm -f -v "$name" >/dev/null 2>&1 || true
  if [ -n "$built" ] && [ "$keep_image" = 0 ]; then docker rmi "$built" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$image" ]; then
  image=hearth:smoke
  built=$image
  step "building $image from ${git_ref:-the working tree}${node_image:+ on $node_image}"
  args=(build --network host -f docker/Dockerfile -t "$image")
  [ -n "$node_image" ] && args+=(--build-arg "NODE_IMAGE=$node_image")
  if [ -n "$git_ref" ]; then
    git -C "$repo" archive --format=tar "$git_ref" | docker "${args[@]}" - >"$work/build.log" 2>&1 \
      || { tail -40 "$work/build.log"; fail "docker build (git archive $git_ref)"; }
  else
    (cd "$repo" && docker "${args[@]}" .) >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "docker build"; }
  fi
fi

# Free loopback ports (the config binds them as root inside the container, on the host's network).
read -r MX SUB SMTPS POP3 POP3S COMSAT < <(node -e '
  const net = require("node:net");
  const servers = [...Array(6)].map(() => net.createServer().listen(0, "127.0.0.1"));
  Promise.all(servers.map((s) => new Promise((r) => s.on("listening", r)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "));
    servers.forEach((s) => s.close());
  });')

cat >"$work/hearth.yaml" <<EOF
# docker/hearth.yaml with loopback addresses and free ports (host networking in a test).
data: /var/lib/hearth
mail:
  domains: [localhost, smoke.test]
services:
  biff:
    service: biff
    user: hearth
    stopTimeout: 5s
    listen:
      comsat: { address: 127.0.0.1, port: $COMSAT, protocol: udp }
  smtp:
    service: smtp
    user: hearth
    after: [biff]
    listen:
      mx:         { address: 127.0.0.1, port: $MX }
      submission: { address: 127.0.0.1, port: $SUB }
      smtps:      { address: 127.0.0.1, port: $SMTPS, tls: true }
  pop3:
    service: pop3
    user: hearth
    after: [biff]
    listen:
      pop3:  { address: 127.0.0.1, port: $POP3 }
      pop3s: { address: 127.0.0.1, port: $POP3S, tls: true }
EOF
chmod 644 "$work/hearth.yaml"

wait_healthy() {
  local deadline=$(( $(date +%s) + 90 )) status
  while :; do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
    [ "$status" = healthy ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$name")" = true ] || { docker logs "$name" 2>&1 | tail -20; fail "container exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || { docker logs "$name" 2>&1 | tail -20; fail "not healthy after 90s (health: $status)"; }
    sleep 1
  done
}

stop_cleanly() {
  local t0 t1 code
  t0=$(date +%s)
  docker stop -t 30 "$name" >/dev/null
  t1=$(date +%s)
  code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
  [ "$code" = 0 ] || { docker logs "$name" 2>&1 | tail -20; fail "exit code $code after docker stop (want 0: every service stopped cleanly)"; }
  docker logs --since "$t0" "$name" 2>&1 | grep -q '"msg":"supervisor stopped"' || fail "no 'supervisor stopped' line in the log"
  step "docker stop: exit code 0 in $(( t1 - t0 ))s"
}

step "starting $image (ports: smtp $MX/$SUB/$SMTPS, pop3 $POP3/$POP3S, comsat $COMSAT/udp)"
docker run -d --name "$name" --network host --init \
  --health-interval 2s --health-start-period 60s \
  -v "$work/hearth.yaml:/etc/hearth/hearth.yaml:ro" "$image" >/dev/null
wait_healthy
step "healthy: $(docker inspect -f '{{with index .State.Health.Log 0}}{{.Output}}{{end}}' "$name" | tr -d '\n')"

# The supervisor is root; every service runs as hearth.
docker exec "$name" sh -c '
  for d in /proc/[0-9]*; do
    cmd=$(tr "\0" " " <"$d/cmdline" 2>/dev/null) || continue
    case "${cmd%% *}" in node|*/node) ;; *) continue ;; esac
    printf "%s %s\n" "$(awk "/^Uid:/{print \$2}" "$d/status")" "$cmd"
  done' >"$work/procs"
grep -aq '^0 .*cli/dist/main.js up' "$work/procs" || { cat "$work/procs"; fail "no supervisor running as root"; }
for svc in biff smtp pop3; do
  grep -aq "^10025 .*services/$svc/" "$work/procs" || { cat "$work/procs"; fail "$svc not running as hearth (uid 10025)"; }
done
if grep -av '^0 ' "$work/procs" | grep -av '^10025 ' | grep -aq .; then cat "$work/procs"; fail "a node process runs as neither root nor hearth"; fi
step "processes: supervisor uid 0, biff/smtp/pop3 uid 10025"

printf 'Secret-1\n' | docker exec -i "$name" hearth user add alice --password-stdin >/dev/null
owner=$(docker exec "$name" stat -c %U /var/lib/hearth/mail)
[ "$owner" = hearth ] || fail "the mail store belongs to $owner after hearth user add (want hearth)"
step "hearth user add alice (as root via docker exec): the store stays hearth's"

token="smoke-$$-$RANDOM"
printf 'From: bob@example.org\r\nTo: alice@smoke.test\r\nSubject: %s\r\n\r\nHello from the smoke test.\r\n' "$token" >"$work/msg.eml"
curl -sS --max-time 20 "smtp://127.0.0.1:$MX" --mail-from bob@example.org --mail-rcpt alice@smoke.test \
  -T "$work/msg.eml" || fail "SMTP delivery to 127.0.0.1:$MX"
step "SMTP: delivered to alice@smoke.test"

curl -sS --max-time 20 "pop3://127.0.0.1:$POP3/1" -u alice:Secret-1 >"$work/got.eml" || fail "POP3 RETR"
grep -q "Subject: $token" "$work/got.eml" || { cat "$work/got.eml"; fail "POP3 RETR 1 is not the message sent"; }
curl -sS --max-time 20 -k "pop3s://127.0.0.1:$POP3S/" -u alice:Secret-1 >"$work/list" || fail "POP3S LIST"
grep -q '^1 ' "$work/list" || { cat "$work/list"; fail "POP3S LIST shows no message 1"; }
step "POP3: RETR 1 is the message; POP3S (self-signed pair made in the volume): LIST ok"

# An idle, logged-in POP3 session while the container stops: pop3 drains it until its stopTimeout
# (10s), then says it is shutting down; every service must still stop cleanly.
node -e '
  const sock = require("node:net").connect(Number(process.argv[1]), "127.0.0.1");
  let text = "", sent = 0;
  sock.on("data", (d) => {
    text += d;
    const lines = text.split("\r\n").length - 1;
    if (lines === 1 && sent === 0) { sock.write("USER alice\r\n"); sent = 1; }
    if (lines === 2 && sent === 1) { sock.write("PASS Secret-1\r\n"); sent = 2; }
    if (lines === 3 && sent === 2) { console.log("LOGGED-IN"); sent = 3; }
  });
  sock.on("close", () => { console.log(text.split("\r\n").slice(3).join(" ").trim() || "(closed without a word)"); });
  sock.on("error", (e) => console.log("error " + e.message));
' "$POP3" >"$work/session" &
client=$!
for _ in $(seq 1 50); do grep -q LOGGED-IN "$work/session" && break; sleep 0.1; done
grep -q LOGGED-IN "$work/session" || fail "POP3 session did not log in: $(cat "$work/session")"
stop_cleanly
wait "$client" || true
grep -q '^-ERR' "$work/session" || fail "the open POP3 session was not told about the shutdown: $(cat "$work/session")"
step "the open POP3 session got: $(tail -1 "$work/session")"

docker start "$name" >/dev/null
wait_healthy
curl -sS --max-time 20 "pop3://127.0.0.1:$POP3/1" -u alice:Secret-1 | grep -q "Subject: $token" \
  || fail "the message is gone after a restart of the container (volume)"
step "docker start again: healthy, the mail is still there"
stop_cleanly

step "PASS"
