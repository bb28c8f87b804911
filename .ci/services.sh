# Real servers for the tests that read PostgreSQL and S3: a private PostgreSQL cluster and a moto
# S3 server, both on loopback on free ports, stopped when the sourcing shell exits.
#
#   source .ci/services.sh      # from bash; .ci/run does this
#
# Exports P20W_TEST_PG_URL (a libpq key=value connection string), P20W_TEST_S3_ENDPOINT and
# P20W_TEST_S3_BUCKET (a bucket created empty). Installs what is missing: PostgreSQL from the
# Debian packages (needs root) and moto[server] from PyPI into a venv under $HOME/.cache.
# Nothing here touches a system cluster or the machine's own PostgreSQL service.

p20w_services_dir="$(mktemp -d "${TMPDIR:-/tmp}/p20w-services.XXXXXX")"
p20w_pg_bin=""
p20w_moto_pid=""

p20w_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs a PostgreSQL tool as the cluster's owner: initdb and the server refuse to run as root.
p20w_as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

p20w_find_pg() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && p20w_pg_bin="$d"
  done
  if [ -z "$p20w_pg_bin" ] && command -v pg_config >/dev/null; then
    p20w_pg_bin="$(pg_config --bindir)"
  fi
  [ -n "$p20w_pg_bin" ] && [ -x "$p20w_pg_bin/initdb" ]
}

p20w_start_postgres() {
  if ! p20w_find_pg; then
    echo "services: installing PostgreSQL from the Debian packages"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # The package's own cluster and service are not used; the tests start a private one.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    p20w_find_pg || { echo "services: no initdb after installing postgresql" >&2; return 1; }
  fi
  local data="$p20w_services_dir/pg" port
  port="$(p20w_free_port)"
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres: "$p20w_services_dir" "$data"
  # Trust on loopback only: a throwaway cluster holding synthetic data, listening on 127.0.0.1.
  p20w_as_pg_owner "$p20w_pg_bin/initdb" -D "$data" -U p20w --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$p20w_services_dir/initdb.log" 2>&1 \
    || { cat "$p20w_services_dir/initdb.log" >&2; return 1; }
  p20w_as_pg_owner "$p20w_pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c fsync=off" \
    >/dev/null || { cat "$data/server.log" >&2; return 1; }
  export P20W_TEST_PG_URL="host=127.0.0.1 port=$port user=p20w dbname=postgres"
}

p20w_start_moto() {
  local venv="$HOME/.cache/p20w-moto" port
  if [ ! -x "$venv/bin/moto_server" ]; then
    echo "services: installing moto[server] into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "moto[server]"
  fi
  port="$(p20w_free_port)"
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$p20w_services_dir/moto.log" 2>&1 &
  p20w_moto_pid=$!
  local endpoint="http://127.0.0.1:$port" i
  for i in $(seq 1 100); do
    curl -fs -o /dev/null "$endpoint/" && break
    sleep 0.1
  done
  # A bucket for the tests; moto keeps everything in memory, so each start is empty.
  curl -fs -X PUT -o /dev/null "$endpoint/p20w-test" \
    || { cat "$p20w_services_dir/moto.log" >&2; return 1; }
  export P20W_TEST_S3_ENDPOINT="$endpoint" P20W_TEST_S3_BUCKET="p20w-test"
}

p20w_stop_services() {
  if [ -n "$p20w_moto_pid" ]; then
    kill "$p20w_moto_pid" 2>/dev/null || true
    wait "$p20w_moto_pid" 2>/dev/null || true
  fi
  if [ -n "$p20w_pg_bin" ] && [ -f "$p20w_services_dir/pg/postmaster.pid" ]; then
    p20w_as_pg_owner "$p20w_pg_bin/pg_ctl" -D "$p20w_services_dir/pg" -m fast -w stop \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$p20w_services_dir"
}
trap p20w_stop_services EXIT

p20w_services_started=$SECONDS
p20w_start_postgres
p20w_start_moto
echo "services: PostgreSQL and moto up in $((SECONDS - p20w_services_started)) s" \
  "($P20W_TEST_PG_URL; S3 $P20W_TEST_S3_ENDPOINT)"
