#!/usr/bin/env bash
# The demo (`npm run demo`): sets up like `npm test` (busybox-static, npm
# install/build), builds a busybox bundle under ./demo/, runs one real
# container in the foreground with `bin/tsrun run`, and deletes it — also
# when something fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: must run as root (a container needs namespaces and mounts)" >&2
  exit 1
fi

say "setup: system packages and build (scripts/test.sh, setup only)"
TSRUN_SETUP_ONLY=1 bash scripts/test.sh </dev/null || echo "demo: warning: the build reported errors; trying what was built" >&2

unset NODE_EXTRA_CA_CERTS NODE_OPTIONS
BUNDLE=demo
ROOT_DIR=$(mktemp -d /tmp/tsrun-demo-root.XXXXXX)
ID="demo-$$"
# DEMO_RUNTIME=runc shows the same bundle under runc, for comparison.
TSRUN=("${DEMO_RUNTIME:-bin/tsrun}" --root "$ROOT_DIR")

cleanup() {
  local rc=$?
  say "cleanup: ${TSRUN[*]} delete --force $ID"
  "${TSRUN[@]}" delete --force "$ID" >/dev/null 2>&1 || true
  rm -rf "$ROOT_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building the bundle ./$BUNDLE (static busybox rootfs + config.json) with src/bundle/busybox.ts"
rm -rf "$BUNDLE/config.json"
node -e '
const { makeBundle } = require("./dist/src/bundle/busybox.js");
const script = [
  "echo hello from tsrun",
  "echo \"hostname: $(hostname)\"",
  "echo \"id: $(id)\"",
  "echo \"pid: $$\"",
  "echo / contains: $(ls /)",
  "printf \"/proc/1/cmdline: \"; tr \"\\0\" \" \" < /proc/1/cmdline; echo",
  "echo processes: $(ls /proc | grep -E \"^[0-9]+$\" | tr \"\\n\" \" \")",
  "grep -E \"^(CapEff|NoNewPrivs)\" /proc/self/status",
  "touch /x 2>/dev/null && echo \"/ is writable\" || echo \"/ is read-only\"",
].join("; ");
makeBundle(process.argv[1], { args: ["sh", "-c", script], terminal: false, edit: (c) => { c.hostname = "tsrun-demo"; } });
' "$BUNDLE"
echo "bundle: $(pwd)/$BUNDLE  (config.json, rootfs/)"

say "running: ${TSRUN[*]} run --bundle $BUNDLE $ID"
set +e
"${TSRUN[@]}" run --bundle "$BUNDLE" "$ID"
status=$?
set -e
say "container exited with status $status"
exit "$status"
