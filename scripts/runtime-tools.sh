#!/usr/bin/env bash
# Runs the upstream OCI runtime-tools validation programs (TAP) against a runtime.
#
#   scripts/runtime-tools.sh [RUNTIME...]      RUNTIME: tsrun (default, bin/tsrun) | runc | crun | /abs/path
#   RT_TESTS="create kill" scripts/runtime-tools.sh runc tsrun
#   RT_TIMEOUT=60   per-program timeout (seconds)
#   RT_CACHE=/var/cache/tsrun-runtime-tools    build cache (Go objects, binaries, rootfs tarball, TAP logs)
#   RT_SRC=DIR      an upstream runtime-tools source tree (validation/, cmd/runtimetest/)
#
# Setup (idempotent, as root): apt-get golang-go + the Debian golang-*-dev packages the suite
# imports; GOPATH mode (GO111MODULE=off) in $RT_CACHE/gopath, with the library packages
# (generate, specerror, validate, error, ...) symlinked from Debian's
# golang-github-opencontainers-runtime-tools-dev. That Debian package does NOT ship validation/
# nor cmd/runtimetest, so their sources must come from an upstream tree: $RT_SRC, or
# `apt-get source golang-github-opencontainers-runtime-tools` when the mirror serves sources,
# or whatever is already in $RT_CACHE/gopath (kept between runs). github.com/mndrix/tap-go is not
# packaged in Debian: a small compatible implementation is written into the GOPATH.
#
# Output: one TAP log per test × runtime under $RT_CACHE/logs/<runtime>/, then a table
# (ok / not ok / skip counts, exit status) and a summary. Exit status 0 iff every program run
# against the last runtime had no "not ok" that the first runtime did not also have.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
exec </dev/null

CACHE=${RT_CACHE:-/var/cache/tsrun-runtime-tools}
TIMEOUT=${RT_TIMEOUT:-60}
GOP=$CACHE/gopath
RTDIR=$GOP/src/github.com/opencontainers/runtime-tools
DEBRT=/usr/share/gocode/src/github.com/opencontainers/runtime-tools
BIN=$CACHE/bin
export GO111MODULE=off GOPATH=$GOP:/usr/share/gocode GOCACHE=$CACHE/gocache GOFLAGS= CGO_ENABLED=0

log() { printf '[runtime-tools] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

# Tests selected by default: the lifecycle/CLI ones and the in-container checks that do not need
# hooks, cgroups or user namespaces beyond what the machine has. All built programs with RT_TESTS=all.
DEFAULT_TESTS="create kill pidfile linux_masked_paths delete_only_create_resources poststop"

setup_apt() {
  local pkgs=(golang-go golang-github-opencontainers-runtime-tools-dev golang-github-google-uuid-dev
    golang-github-mrunalp-fileutils-dev golang-github-urfave-cli-dev golang-github-sirupsen-logrus-dev
    golang-gocapability-dev golang-golang-x-sys-dev golang-github-opencontainers-specs-dev)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]} (needs root + apt-get)"
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "apt-get install failed"
}

setup_gopath() {
  mkdir -p "$RTDIR" "$GOP/src/github.com/mndrix/tap-go" "$BIN"
  local d
  for d in generate specerror validate cgroups filepath error api; do
    [ -e "$DEBRT/$d" ] && ln -sfn "$DEBRT/$d" "$RTDIR/$d"
  done
  if [ -n "${RT_SRC:-}" ]; then
    [ -d "$RT_SRC/validation" ] || die "RT_SRC=$RT_SRC has no validation/"
    log "copying validation/ and cmd/runtimetest from $RT_SRC"
    rm -rf "$RTDIR/validation" "$RTDIR/cmd"
    cp -r "$RT_SRC/validation" "$RTDIR/validation"
    mkdir -p "$RTDIR/cmd" && cp -r "$RT_SRC/cmd/runtimetest" "$RTDIR/cmd/runtimetest"
  fi
  if [ ! -f "$RTDIR/validation/util/test.go" ] || [ ! -f "$RTDIR/cmd/runtimetest/main.go" ]; then
    log "no runtime-tools validation sources in $RTDIR; trying apt-get source"
    local tmp; tmp=$(mktemp -d)
    if (cd "$tmp" && apt-get source -qq golang-github-opencontainers-runtime-tools >/dev/null 2>&1); then
      local src; src=$(find "$tmp" -maxdepth 1 -mindepth 1 -type d | head -1)
      cp -r "$src/validation" "$RTDIR/validation" && mkdir -p "$RTDIR/cmd" && cp -r "$src/cmd/runtimetest" "$RTDIR/cmd/"
    fi
    rm -rf "$tmp"
    [ -f "$RTDIR/validation/util/test.go" ] ||
      die "runtime-tools validation/ sources unavailable (Debian's -dev package omits them; no deb-src/GitHub here). Set RT_SRC=<upstream checkout>."
  fi
  cmp -s "$REPO/scripts/runtime-tools-tap.go" "$GOP/src/github.com/mndrix/tap-go/tap.go" ||
    cp "$REPO/scripts/runtime-tools-tap.go" "$GOP/src/github.com/mndrix/tap-go/tap.go"
}

build() {
  local t
  if [ ! -x "$BIN/runtimetest" ] || [ -n "$(find "$RTDIR/cmd/runtimetest" -newer "$BIN/runtimetest" -name '*.go' -print -quit)" ]; then
    log "go build runtimetest (static)"
    go build -ldflags '-s -w' -o "$BIN/runtimetest" github.com/opencontainers/runtime-tools/cmd/runtimetest || die "runtimetest build failed"
  fi
  for t in $TESTS; do
    [ -d "$RTDIR/validation/$t" ] || { log "no such test: $t"; continue; }
    if [ ! -x "$BIN/$t" ] || [ -n "$(find "$RTDIR/validation/$t" "$RTDIR/validation/util" -newer "$BIN/$t" -name '*.go' -print -quit)" ]; then
      go build -o "$BIN/$t" "github.com/opencontainers/runtime-tools/validation/$t" || log "build failed: $t"
    fi
  done
}

# rootfs-amd64.tar.gz: the busybox rootfs tsrun's own tests use (src/bundle/busybox.ts) + runtimetest.
make_rootfs() {
  local tar=$BIN/rootfs-amd64.tar.gz
  [ -f "$tar" ] && [ "$tar" -nt "$BIN/runtimetest" ] && return 0
  [ -f "$REPO/dist/src/bundle/busybox.js" ] || die "dist/ missing: run npm run build"
  log "making $tar from the host's static busybox"
  local tmp; tmp=$(mktemp -d)
  node -e 'require(process.argv[1]).makeRootfs(process.argv[2])' "$REPO/dist/src/bundle/busybox.js" "$tmp/rootfs" || die "makeRootfs failed"
  cp "$BIN/runtimetest" "$tmp/rootfs/runtimetest"
  tar -C "$tmp/rootfs" -czf "$tar" .   # the suite untars into the bundle and uses root.path "."
  rm -rf "$tmp"
}

resolve_runtime() {
  case "$1" in
    tsrun) echo "$REPO/bin/tsrun" ;;
    runc) command -v runc || echo /usr/sbin/runc ;;
    crun) command -v crun ;;
    *) echo "$1" ;;
  esac
}

# Leftover containers from a killed run: delete them by their test-generated uuid ids.
cleanup_runtime() {
  local rt=$1 id
  for id in $("$rt" list -q 2>/dev/null | grep -E '^[0-9a-f]{8}-[0-9a-f]{4}-' || true); do
    "$rt" delete --force "$id" >/dev/null 2>&1 || true
  done
}

run_one() { # runtime-name runtime-path test -> "ok notok skip rc"
  local name=$1 rt=$2 t=$3 out=$CACHE/logs/$1/$3.tap rc
  mkdir -p "$CACHE/logs/$name"
  # Bundles go to a private TMPDIR: upstream leaks them on some error paths.
  local tmp=$CACHE/tmp/$name; mkdir -p "$tmp"
  (cd "$BIN" && TMPDIR=$tmp RUNTIME=$rt timeout -k 5 "$TIMEOUT" "./$t" >"$out" 2>"$out.stderr"); rc=$?
  grep -q " $tmp/" /proc/self/mountinfo || rm -rf "${tmp:?}"/ocitest*
  local ok notok skip yamlerr
  ok=$(grep -cE '^ok [0-9]+' "$out" | tr -d ' '); skip=$(grep -cE '^ok [0-9]+ # SKIP' "$out")
  notok=$(grep -E '^not ok [0-9]+' "$out" | grep -vc '# TODO')
  # Some programs (poststop, ...) report a failure only as a YAML "error:" block with no test line.
  yamlerr=$(grep -cE '^  error: ' "$out")
  [ "$(grep -cE '^(not )?ok ' "$out")" -eq 0 ] && [ "$yamlerr" -gt 0 ] && notok=$yamlerr
  # RuntimeInsideValidate passes when runtimetest printed nothing (it never ran): count those as failures.
  local empty; empty=$(grep -cE '^  stdout: ""$' "$out")
  echo "$((ok - skip - empty)) $((notok + empty)) $skip $rc"
}

[ $# -eq 0 ] && set -- tsrun
if [ "${RT_TESTS:-}" = all ]; then
  TESTS=$(cd "$RTDIR/validation" 2>/dev/null && ls -d */ | tr -d / | grep -v '^util$' | tr '\n' ' ')
else
  TESTS=${RT_TESTS:-$DEFAULT_TESTS}
fi

t0=$(date +%s)
setup_apt
setup_gopath
build
make_rootfs
log "setup done in $(( $(date +%s) - t0 ))s"

declare -A RES
for name in "$@"; do
  rt=$(resolve_runtime "$name"); [ -x "$rt" ] || die "runtime $name not found ($rt)"
  for t in $TESTS; do
    [ -x "$BIN/$t" ] || continue
    s=$(date +%s)
    RES[$name,$t]="$(run_one "$name" "$rt" "$t") $(( $(date +%s) - s ))"
    log "$name $t: ${RES[$name,$t]}"
  done
  cleanup_runtime "$rt"
done

# Table: per runtime "pass/fail/skip (exit, secs)".
printf '\n%-32s' test; for name in "$@"; do printf ' | %-24s' "$name pass/fail/skip rc s"; done; echo
status=0; first=$1; last=${!#}
for t in $TESTS; do
  [ -x "$BIN/$t" ] || continue
  printf '%-32s' "$t"
  for name in "$@"; do
    read -r ok notok skip rc secs <<<"${RES[$name,$t]}"
    printf ' | %-24s' "$ok/$notok/$skip rc=$rc ${secs}s"
  done
  echo
  read -r _ f_first _ rc_first _ <<<"${RES[$first,$t]}"
  read -r _ f_last _ rc_last _ <<<"${RES[$last,$t]}"
  if [ "$first" != "$last" ] && { [ "$f_last" -gt "$f_first" ] || { [ "$rc_last" -ne 0 ] && [ "$rc_first" -eq 0 ]; }; }; then
    status=1; echo "  ^ $last regresses against $first: see $CACHE/logs/$last/$t.tap"
  fi
done
for name in "$@"; do
  tp=0; tf=0
  for t in $TESTS; do [ -n "${RES[$name,$t]:-}" ] || continue; read -r ok notok _ <<<"${RES[$name,$t]}"; tp=$((tp+ok)); tf=$((tf+notok)); done
  echo "$name: $tp passed, $tf failed"
done
log "total $(( $(date +%s) - t0 ))s; TAP logs in $CACHE/logs/"
exit $status
