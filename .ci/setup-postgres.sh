# shellcheck shell=bash
# Sourced by .ci/run (under `set -euo pipefail`): starts a throwaway PostgreSQL cluster for the journal tests
# and exports REGROW_TEST_DATABASE_URL and REGROW_REQUIRE_POSTGRES=1. Idempotent: a cluster already running
# from an earlier call is reused. PostgreSQL comes from Debian's packages, installed only when missing.

_regrow_pg_setup() {
    local port="${REGROW_PG_PORT:-54329}"
    local root="${REGROW_PG_DIR:-${TMPDIR:-/tmp}/regrow-pg-${port}}"
    local bindir=""

    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "setup-postgres: installing PostgreSQL from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq postgresql >/dev/null
        bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi

    # PostgreSQL refuses to run as root: run it as an unprivileged user.
    local -a as_user=()
    if [ "$(id -u)" = "0" ]; then
        local pg_user=postgres
        if ! id -u "$pg_user" >/dev/null 2>&1; then
            pg_user=regrowpg
            id -u "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
        fi
        as_user=(runuser -u "$pg_user" --)
        mkdir -p "$root"
        chown "$pg_user" "$root"
    else
        mkdir -p "$root"
    fi

    local data="$root/data"
    if ! "${as_user[@]}" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        if [ ! -f "$data/PG_VERSION" ]; then
            "${as_user[@]}" "$bindir/initdb" -D "$data" --username=regrow --auth=trust --encoding=UTF8 \
                --no-sync >/dev/null
        fi
        # Loopback only, socket in the temp dir, no durability needed for a test cluster.
        "${as_user[@]}" "$bindir/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -k $root -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null
    fi

    if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U regrow -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'regrow_test'" | grep -q 1; then
        "$bindir/psql" -h 127.0.0.1 -p "$port" -U regrow -d postgres -qc "CREATE DATABASE regrow_test" >/dev/null
    fi

    export REGROW_TEST_DATABASE_URL="postgresql+psycopg://regrow@127.0.0.1:${port}/regrow_test"
    export REGROW_REQUIRE_POSTGRES=1
    echo "setup-postgres: PostgreSQL ($bindir) on 127.0.0.1:$port, REGROW_TEST_DATABASE_URL set" >&2
}

_regrow_pg_setup
unset -f _regrow_pg_setup
