#!/usr/bin/env bash
# Builds and runs FerretDB v1.24.2 (a MongoDB wire-protocol server) for qtask's MongoDB tests.
#
#   scripts/ferretdb.sh build          build the binary into the cache (reused when present)
#   scripts/ferretdb.sh start [PORT]   start on 127.0.0.1 (SQLite handler, temp data dir), wait, print the URL
#   scripts/ferretdb.sh url            print the URL of the running server
#   scripts/ferretdb.sh stop           stop the server started by `start`
#   scripts/ferretdb.sh bin            print the binary path (builds first if needed)
#
# Why not `go install …@v1.24.2`: build/version/version.txt is generated at release time and is not in the
# module, so that binary panics at start. We copy the module source out of the (read-only) module cache,
# write version.txt, and build from there.
#
# Environment: QTASK_CACHE (default ~/.cache/qtask) holds the binary; QTASK_FERRETDB_STATE (default
# $QTASK_CACHE/ferretdb-run) holds the pid/url/log of the running server. FERRETDB_LISTEN_ADDR overrides the
# listen address (default 127.0.0.1), e.g. for the network-namespace test; FERRETDB_EXTRA_ARGS adds flags
# (e.g. `--test-enable-new-auth --setup-database=admin --setup-username=u --setup-password=p`).
# FERRETDB_HANDLER=postgresql runs FerretDB on its PostgreSQL handler instead, over a private PostgreSQL cluster
# (scripts/postgres.sh; Debian's `postgresql` package) that `stop` stops too.
set -euo pipefail

VERSION=v1.24.2
CACHE="${QTASK_CACHE:-$HOME/.cache/qtask}"
BUILD_DIR="$CACHE/ferretdb-$VERSION"
BIN="$BUILD_DIR/ferretdb"
STATE="${QTASK_FERRETDB_STATE:-$CACHE/ferretdb-run}"

log() { echo "ferretdb.sh: $*" >&2; }

build() {
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then return 0; fi
  command -v go >/dev/null || { log "go is not installed (needed to build FerretDB)"; exit 1; }
  mkdir -p "$BUILD_DIR"
  log "downloading github.com/FerretDB/FerretDB@$VERSION from the Go module proxy"
  local dir
  dir=$(cd "$BUILD_DIR" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || { log "module download failed"; exit 1; }
  local src="$BUILD_DIR/src"
  rm -rf "$src"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  printf '%s' "$VERSION" > "$src/build/version/version.txt"
  log "building (takes a few minutes on 2 cores)"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" ./cmd/ferretdb)
  mv "$BIN.tmp" "$BIN"
  "$BIN" --version >/dev/null
  rm -rf "$src"
  log "built $BIN"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  build
  if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then cat "$STATE/url"; return 0; fi
  mkdir -p "$STATE"
  local host="${FERRETDB_LISTEN_ADDR:-127.0.0.1}"
  local port="${1:-$(free_port)}" debug_port
  debug_port=$(free_port)
  local data backend
  data=$(mktemp -d "${TMPDIR:-/tmp}/qtask-ferretdb.XXXXXX")
  echo "$data" > "$STATE/data"
  case "${FERRETDB_HANDLER:-sqlite}" in
    sqlite) backend=(--handler=sqlite --sqlite-url="file:$data/") ;;
    postgresql)
      chmod 755 "$data" # the cluster runs as the postgres user when we are root
      backend=(--handler=postgresql --postgresql-url="$(bash "$(dirname "$0")/postgres.sh" start "$data/pg")") ;;
    *) log "FERRETDB_HANDLER must be sqlite or postgresql"; exit 2 ;;
  esac
  # shellcheck disable=SC2086 # FERRETDB_EXTRA_ARGS is a list of flags
  "$BIN" "${backend[@]}" --state-dir="$data" --listen-addr="$host:$port" \
    --debug-addr="127.0.0.1:$debug_port" --telemetry=disable --log-level=warn ${FERRETDB_EXTRA_ARGS:-} \
    >"$STATE/log" 2>&1 &
  local pid=$!
  echo "$pid" > "$STATE/pid"
  local url="mongodb://$host:$port/"
  echo "$url" > "$STATE/url"
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then log "server exited:"; cat "$STATE/log" >&2; exit 1; fi
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then echo "$url"; return 0; fi
    sleep 0.2
  done
  log "server did not answer within 30 s"; kill "$pid" 2>/dev/null || true; exit 1
}

stop() {
  [ -f "$STATE/pid" ] || return 0
  local pid; pid=$(cat "$STATE/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -f "$STATE/data" ]; then
    bash "$(dirname "$0")/postgres.sh" stop "$(cat "$STATE/data")/pg"
    rm -rf "$(cat "$STATE/data")"
  fi
  rm -f "$STATE/pid" "$STATE/url" "$STATE/data"
}

case "${1:-}" in
  build) build ;;
  bin) build; echo "$BIN" ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  url) [ -f "$STATE/url" ] && cat "$STATE/url" || { log "not running"; exit 1; } ;;
  *) echo "usage: $0 build|start [PORT]|stop|url|bin" >&2; exit 2 ;;
esac
