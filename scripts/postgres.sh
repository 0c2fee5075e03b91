#!/usr/bin/env bash
# A private PostgreSQL cluster (Debian's `postgresql` package) for FerretDB's PostgreSQL handler: the
# MongoDB store is tested and benchmarked on both of FerretDB 1.24's backends (SQLite and PostgreSQL).
#
#   scripts/postgres.sh start DIR   initdb into DIR/data, start on a free 127.0.0.1 port (trust auth, only
#                                   reachable from this machine), create database "ferretdb", print its URL
#   scripts/postgres.sh stop DIR    stop that cluster and remove DIR
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user the Debian package
# creates. Needs the binaries in /usr/lib/postgresql/<version>/bin (`apt-get install postgresql`).
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    log "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql"
    exit 1
  fi
  echo "$d"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  local dir="$1" bin port
  bin=$(bindir)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 \
    || { log "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null \
    || { log "the server did not start:"; cat "$dir/server.log" >&2; exit 1; }
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres ferretdb
  echo "$port" > "$dir/port"
  echo "postgres://postgres@127.0.0.1:$port/ferretdb"
}

stop() {
  local dir="$1" bin
  [ -d "$dir" ] || return 0
  bin=$(bindir)
  if [ -f "$dir/data/postmaster.pid" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ -n "${2:-}" ] || { echo "usage: $0 start DIR" >&2; exit 2; }; start "$2" ;;
  stop) [ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 start DIR | stop DIR" >&2; exit 2 ;;
esac
