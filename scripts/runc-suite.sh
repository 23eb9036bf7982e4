#!/usr/bin/env bash
# Runs runc's own bats integration suite (tests/integration/*.bats of Debian's runc source)
# against one or more runtimes, file by file, and writes a per-test comparison table.
# A long outside check, not part of `npm test`.
#
#   scripts/runc-suite.sh [RUNTIME...]     RUNTIME: runc | tsrun (bin/tsrun) | crun | /abs/path
#                                          default: runc tsrun (runc first: it is the reference)
#   RS_FILES="kill delete"   only these .bats files (names without .bats)
#   RS_FILTER=REGEX          bats -f: only tests whose name matches
#   RS_TIMEOUT=600           per-file timeout (seconds)
#   RS_CACHE=/var/cache/tsrun-runc-suite    source, Go build cache, images, logs
#   RS_OUT=FILE              markdown table (default $RS_CACHE/results.md)
#   RS_REPORT_ONLY=1         run nothing: write the table from the logs of the runtimes named
#
# Setup (idempotent, as root):
#  - apt: bats (>= 1.2.1), jq, golang-go and the Debian golang-*-dev packages recvtty and
#    seccompagent import, busybox-static, xz-utils, gcc.
#  - runc's source: `apt-get source --download-only runc` with a private deb-src list, private
#    lists dir and private source list (Dir::Etc::SourceParts / SourceList / State::Lists):
#    /etc/apt and the system's package lists are never touched.
#  - images: get-images.sh would download busybox and debian; the files it expects are put in
#    testdata/ first (same names, so its get() skips the download): busybox-<arch>.tar.xz from
#    the host's static busybox with every applet linked, debian-<arch>.tar.xz a minimal rootfs
#    (busybox + the host's static ldconfig) that is enough for hooks.bats, its only user.
#  - helpers: recvtty and seccompagent are built in GOPATH mode against Debian's -dev packages
#    with the runc source itself as github.com/opencontainers/runc. sd-helper is not built: it is
#    used only with RUNC_USE_SYSTEMD (systemd cgroups), which this script does not set.
#
# After each file, whatever the run left (containers in the test roots, mounts under the run's
# TMPDIR, the suite's cgroups) is removed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
exec </dev/null

CACHE=${RS_CACHE:-/var/cache/tsrun-runc-suite}
TIMEOUT=${RS_TIMEOUT:-600}
OUT=${RS_OUT:-$CACHE/results.md}
GOP=$CACHE/gopath
export GO111MODULE=off GOPATH=$GOP:/usr/share/gocode GOCACHE=$CACHE/gocache GOFLAGS=

log() { printf '[runc-suite] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run as root"

setup_apt() {
  local pkgs=(bats jq gawk golang-go busybox-static xz-utils gcc dpkg-dev util-linux bsdutils
    libseccomp-dev pkg-config golang-github-seccomp-libseccomp-golang-dev
    golang-github-containerd-console-dev golang-github-urfave-cli-dev golang-github-sirupsen-logrus-dev
    golang-golang-x-sys-dev golang-github-opencontainers-specs-dev golang-github-cyphar-filepath-securejoin-dev)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "apt-get install failed"
}

# Sets SRC to the unpacked runc source (with tests/integration).
setup_source() {
  SRC=$(find "$CACHE/src" -maxdepth 3 -path '*/tests/integration' -type d 2>/dev/null | head -1)
  SRC=${SRC%/tests/integration}
  [ -n "$SRC" ] && return 0
  local apt=$CACHE/apt codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$CACHE/src"
  cat >"$apt/sources.list.d/debsrc.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local opts=(-o "Dir::Etc::SourceParts=$apt/sources.list.d" -o Dir::Etc::SourceList=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o APT::Sandbox::User=root)
  log "fetching runc's source (private deb-src list in $apt)"
  apt-get "${opts[@]}" update -qq >/dev/null || die "apt-get update (deb-src) failed"
  (cd "$CACHE/src" && apt-get "${opts[@]}" source -qq --download-only runc >/dev/null) || die "apt-get source runc failed"
  local dsc; dsc=$(ls "$CACHE"/src/runc_*.dsc | head -1)
  (cd "$CACHE/src" && dpkg-source -x "$(basename "$dsc")" >/dev/null) || die "dpkg-source -x failed"
  SRC=$(find "$CACHE/src" -maxdepth 3 -path '*/tests/integration' -type d | head -1)
  SRC=${SRC%/tests/integration}
  [ -n "$SRC" ] || die "no tests/integration in runc's source"
}

build_helpers() {
  mkdir -p "$GOP/src/github.com/opencontainers"
  ln -sfn "$SRC" "$GOP/src/github.com/opencontainers/runc"
  local c
  for c in recvtty seccompagent; do
    local bin=$SRC/contrib/cmd/$c/$c
    [ -x "$bin" ] && continue
    log "go build $c"
    # seccompagent is a stub without the seccomp tag (cgo + libseccomp-golang).
    (cd "$CACHE" && go build -tags seccomp -o "$bin" "github.com/opencontainers/runc/contrib/cmd/$c") || log "build failed: $c (tests using it fail)"
  done
}

# Static busybox rootfs with every applet, the users and groups of the busybox image.
make_busybox_rootfs() {
  local r=$1 bb
  bb=$(command -v busybox || echo /bin/busybox)
  # No proc/ or sys/: as in the busybox image (mask.bats replaces them with symlinks).
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,tmp,etc,root,var/spool/mail,var/www,run,home}
  chmod 1777 "$r/tmp"
  cp "$bb" "$r/bin/busybox"
  local a
  for a in $("$r/bin/busybox" --list); do
    [ -e "$r/bin/$a" ] || ln "$r/bin/busybox" "$r/bin/$a"
  done
  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
  cat >"$r/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:8:
www-data:x:33:
operator:x:37:
staff:x:50:
users:x:100:
nogroup:x:65534:
EOF
}

setup_images() {
  local td=$SRC/tests/integration/testdata arch tmp
  arch=$(go env GOARCH)
  if [ ! -f "$td/busybox-$arch.tar.xz" ]; then
    log "making busybox-$arch.tar.xz from the host's static busybox"
    tmp=$(mktemp -d); make_busybox_rootfs "$tmp/r"
    tar -C "$tmp/r" -cJf "$td/busybox-$arch.tar.xz" . || die "tar busybox failed"
    rm -rf "$tmp"
  fi
  if [ ! -f "$td/debian-$arch.tar.xz" ]; then
    log "making a minimal debian-$arch.tar.xz (busybox + static ldconfig)"
    tmp=$(mktemp -d); make_busybox_rootfs "$tmp/r"
    mkdir -p "$tmp/r/lib" "$tmp/r/usr/lib" "$tmp/r/etc/ld.so.conf.d"
    rm -f "$tmp/r/bin/ldconfig" "$tmp/r/sbin/ldconfig"
    cp /sbin/ldconfig "$tmp/r/sbin/ldconfig"
    echo 'include /etc/ld.so.conf.d/*.conf' >"$tmp/r/etc/ld.so.conf"
    tar -C "$tmp/r" -cJf "$td/debian-$arch.tar.xz" . || die "tar debian failed"
    rm -rf "$tmp"
  fi
}

resolve_runtime() {
  case "$1" in
    tsrun) echo "$REPO/bin/tsrun" ;;
    runc) command -v runc || echo /usr/sbin/runc ;;
    crun) command -v crun ;;
    *) echo "$1" ;;
  esac
}

# Removes what a (possibly killed) bats run left under its TMPDIR and the suite's cgroups.
cleanup_run() {
  local rt=$1 tmp=$2 st ct m
  for st in "$tmp"/bats-run-*/runc.*/state; do
    [ -d "$st" ] || continue
    for ct in $("$rt" --root "$st" list -q 2>/dev/null); do
      "$rt" --root "$st" delete -f "$ct" >/dev/null 2>&1 || true
    done
  done
  pkill_tree_under "$tmp"
  for m in $(awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "${tmp:?}"
  # The suite's cgroups: thaw (a test that timed out may leave one frozen), kill, remove.
  local d f p
  for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -name 'runc-cgroups-integration-test*' 2>/dev/null | sort -r); do
    for f in $(find "$d" -name freezer.state); do echo THAWED >"$f" 2>/dev/null; done
    for f in $(find "$d" -name cgroup.freeze); do echo 0 >"$f" 2>/dev/null; done
    for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do kill -9 "$p" 2>/dev/null; done
  done
  sleep 0.2
  for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -name 'runc-cgroups-integration-test*' 2>/dev/null | sort -r); do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# recvtty / seccompagent daemons the suite started with a cwd or pid file under the run dir.
pkill_tree_under() {
  local tmp=$1 p
  for p in /proc/[0-9]*; do
    local cwd; cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    case "$cwd" in "$tmp"/*) kill -9 "${p#/proc/}" 2>/dev/null || true ;; esac
  done
}

run_file() { # name runtime-path file
  local name=$1 rt=$2 f=$3 dir=$CACHE/logs/$1 rc
  mkdir -p "$dir"
  local tmp=$CACHE/tmp/$name-$f; rm -rf "$tmp"; mkdir -p "$tmp"
  # Under a pseudo-terminal (script(1)), as upstream's CI runs it: `runc run` of the default
  # spec (terminal: true) in the foreground needs a controlling terminal (/dev/tty).
  (cd "$SRC/tests/integration" && TMPDIR=$tmp RUNC=$rt RS_FILTER=${RS_FILTER:-} \
    RS_BATS=$f.bats RS_TAP=$dir/$f.tap RS_ERR=$dir/$f.stderr SHELL=/bin/bash \
    timeout -k 10 "$TIMEOUT" script -qec 'bats -t ${RS_FILTER:+-f "$RS_FILTER"} "$RS_BATS" >"$RS_TAP" 2>"$RS_ERR"' /dev/null >/dev/null); rc=$?
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "# TIMEOUT after ${TIMEOUT}s" >>"$dir/$f.tap"
  cleanup_run "$rt" "$tmp"
  return 0
}

# "ok" / "FAIL" / "skip" / "-" for one test of one log.
result_of() { # tapfile testname
  local line
  line=$(grep -E '^(not )?ok [0-9]+ ' "$1" 2>/dev/null | sed -E 's/^(not ok|ok) [0-9]+ /\1\t/' |
    awk -F'\t' -v t="$2" '{ n=$2; sub(/ # [sS][kK][iI][pP].*$/, "", n); if (n == t) { print $1 "\t" $2; exit } }')
  case "$line" in
    "") echo "-" ;;
    not*) echo "FAIL" ;;
    *'# skip'*|*'# SKIP'*) echo "skip" ;;
    *) echo "ok" ;;
  esac
}

write_table() {
  local f t r cell tot
  {
    echo "# runc integration suite (runc $(sed -n 's/^\([0-9.]*\).*/\1/p' "$SRC/VERSION" 2>/dev/null)) against: $*"
    echo
    echo "Generated by scripts/runc-suite.sh on $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r)."
    echo "Cells: ok / FAIL / skip (the suite's own skip) / - (not reached: file timed out or aborted)."
    echo "Images: busybox from the host's busybox-static (every applet), debian = busybox + static ldconfig"
    echo "(hooks.bats only). Helpers: recvtty, seccompagent built; sd-helper not (systemd cgroups only)."
    echo "Skips are the suite's own for this host (cgroup v1+v2 hybrid: the cgroups_v2 tests; no criu:"
    echo "checkpoint; no sshfs; root: the rootless tests). spec.bats 'spec validator' clones from GitHub: fails offline."
    echo
    printf '## Totals per file (passed/failed/skipped)\n\n| file |'; for r in "$@"; do printf ' %s |' "$r"; done; echo
    printf '|---|'; for r in "$@"; do printf -- '---|'; done; echo
    declare -A GT
    for f in $FILES; do
      printf '| %s |' "$f"
      for r in "$@"; do
        local tap=$CACHE/logs/$r/$f.tap ok notok skip
        ok=$(grep -E '^ok [0-9]+ ' "$tap" 2>/dev/null | grep -vic ' # skip')
        skip=$(grep -E '^ok [0-9]+ ' "$tap" 2>/dev/null | grep -ic ' # skip')
        notok=$(grep -cE '^not ok [0-9]+ ' "$tap" 2>/dev/null)
        ok=${ok:-0}; skip=${skip:-0}; notok=${notok:-0}
        cell="$ok/$notok/$skip"; grep -q '^# TIMEOUT' "$tap" 2>/dev/null && cell="$cell (timeout)"
        printf ' %s |' "$cell"
        read -r a b c <<<"${GT[$r]:-0 0 0}"; GT[$r]="$((a + ok)) $((b + notok)) $((c + skip))"
      done
      echo
    done
    printf '| **total** |'; for r in "$@"; do read -r a b c <<<"${GT[$r]}"; printf ' **%s/%s/%s** |' "$a" "$b" "$c"; done; echo
    echo
    printf '## Per test\n\n| file | test |'; for r in "$@"; do printf ' %s |' "$r"; done; echo
    printf '|---|---|'; for r in "$@"; do printf -- '---|'; done; echo
    for f in $FILES; do
      # Test names from the .bats file itself so tests never reached still get a row.
      while IFS= read -r t; do
        printf '| %s | %s |' "$f" "${t//|/\\|}"
        for r in "$@"; do printf ' %s |' "$(result_of "$CACHE/logs/$r/$f.tap" "$t")"; done
        echo
      done < <(sed -nE 's/^@test "(.*)" \{\s*$/\1/p' "$SRC/tests/integration/$f.bats" | sed 's/\\"/"/g')
    done
  } >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
}

[ $# -eq 0 ] && set -- runc tsrun
t0=$(date +%s)
setup_apt
setup_source
build_helpers
setup_images
log "setup done in $(( $(date +%s) - t0 ))s; source $SRC"
FILES=${RS_FILES:-$(cd "$SRC/tests/integration" && ls *.bats | sed 's/\.bats$//' | tr '\n' ' ')}
mkdir -p "$(dirname "$OUT")"

if [ -n "${RS_REPORT_ONLY:-}" ]; then write_table "$@"; log "table in $OUT"; exit 0; fi
for name in "$@"; do
  rt=$(resolve_runtime "$name"); [ -x "$rt" ] || die "runtime $name not found ($rt)"
  for f in $FILES; do
    s=$(date +%s)
    run_file "$name" "$rt" "$f"
    log "$name $f: $(grep -cE '^ok ' "$CACHE/logs/$name/$f.tap") ok, $(grep -cE '^not ok ' "$CACHE/logs/$name/$f.tap") not ok, $(( $(date +%s) - s ))s"
  done
  write_table "$@"
done
log "table in $OUT; logs in $CACHE/logs/; total $(( $(date +%s) - t0 ))s"
