#!/usr/bin/env bash
# The test command (`npm test`). Idempotent setup on a fresh machine that has
# only Node 20, npm, python3, make and g++:
#   - as root, installs runc, crun, busybox-static, containerd, podman and conmon
#     with apt-get when missing;
#   - `npm install` when node_modules is missing or older than the lock file
#     (it builds the addon and the TypeScript through the install/prepare scripts);
#   - otherwise rebuilds the addon / the TypeScript only when sources are newer;
# then runs `node test/run.mjs "$@"` (args: unit, integration, conformance).
# With TSRUN_SETUP_ONLY=1 it stops after the setup (used by scripts/demo.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec </dev/null

log() { printf '[setup] %s\n' "$*" >&2; }
STAMP=dist/.tsrun-build-stamp
build_failed=0

have_static_busybox() {
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' && return 0
  fi
  # Without dpkg: a static busybox has no ELF interpreter.
  for b in /bin/busybox /usr/bin/busybox; do
    [ -x "$b" ] && ! grep -qa '/lib.*/ld-linux' "$b" && return 0
  done
  return 1
}

install_system_packages() {
  local missing=()
  command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
  command -v crun >/dev/null 2>&1 || missing+=(crun)
  # linux.netDevices moves interfaces with ip(8); its tests make veth pairs.
  command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
  have_static_busybox || missing+=(busybox-static)
  # newuidmap/newgidmap: rootless containers with /etc/subuid ranges (test/integration/rootless.test.ts).
  [ -x /usr/bin/newuidmap ] || missing+=(uidmap)
  # Real clients for test/integration/clients-*.test.ts (containerd's ctr + runc shim v2, podman + conmon).
  command -v containerd >/dev/null 2>&1 || missing+=(containerd)
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v conmon >/dev/null 2>&1 || [ -x /usr/libexec/podman/conmon ] || missing+=(conmon)
  # Docker 20.10 (dockerd, its CLI and docker-init) for test/integration/clients-docker.test.ts.
  command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${missing[*]} (needs root and apt-get to install); continuing"
    return 0
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# newer_than REF PATH...: true if REF is missing or any file under PATHs is newer than it.
newer_than() {
  local ref=$1; shift
  [ -e "$ref" ] || return 0
  local p
  for p in "$@"; do
    [ -e "$p" ] || continue
    if [ -n "$(find "$p" -newer "$ref" -type f \( -name '*.ts' -o -name '*.mjs' -o -name '*.json' -o -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.gyp' \) -not -path '*/node_modules/*' -print -quit 2>/dev/null)" ]; then
      return 0
    fi
  done
  return 1
}

build_node() {
  # node-gyp: use the installed headers when they exist (no download needed).
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
    export npm_config_nodedir=/usr
  fi
  if [ ! -d node_modules ] || newer_than node_modules/.package-lock.json package.json package-lock.json; then
    log "npm install"
    if npm install --no-audit --no-fund; then touch "$STAMP" 2>/dev/null || true; else build_failed=1; fi
    return 0
  fi
  if [ ! -f build/Release/tsrun_addon.node ] || newer_than build/Release/tsrun_addon.node binding.gyp addon; then
    log "npm run build (addon + TypeScript)"
    if npm run --silent build; then touch "$STAMP"; else build_failed=1; fi
    return 0
  fi
  if [ ! -d dist ] || newer_than "$STAMP" src test conformance bench scripts tsconfig.json schemas; then
    log "npm run build:ts"
    if npm run --silent build:ts; then touch "$STAMP"; else build_failed=1; fi
  fi
}

install_system_packages
build_node
if [ "$build_failed" -ne 0 ]; then
  log "BUILD FAILED (counted as a failed test; running what was built)"
  export TSRUN_BUILD_FAILED=1
fi

if [ "${TSRUN_SETUP_ONLY:-0}" = 1 ]; then
  [ "$build_failed" -eq 0 ]
  exit
fi
unset NODE_EXTRA_CA_CERTS NODE_OPTIONS
exec node test/run.mjs "$@"
