#!/bin/sh
# Entrypoint of the node image: on first start of the initial primary (INIT_PRIMARY=true,
# empty $PGDATA) it runs initdb and creates the replication role; a standby starts with an
# empty $PGDATA and is cloned from INIT_STANDBY_FROM (below).
# Then it becomes the pgvigil agent, which starts and supervises postgres.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
# the pgBackRest repository (./backups on the host): a bind mount keeps the host's owner
if [ -d /var/lib/pgbackrest ] && [ ! -w /var/lib/pgbackrest ]; then
  echo "pgvigil-node: /var/lib/pgbackrest (./backups) is not writable by uid $(id -u): on the host, chown $(id -u):$(id -g) ./backups; backups fail until then" >&2
fi
if [ "${INIT_PRIMARY:-false}" = true ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${PGVIGIL_CLUSTERS__MAIN__PASSWORD:?set PGVIGIL_CLUSTERS__MAIN__PASSWORD (.env)}"
  pwfile=$(mktemp)
  printf '%s\n' "$PGVIGIL_CLUSTERS__MAIN__PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" >/dev/null
  rm -f "$pwfile"
  cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_log_hints = on
hot_standby = on
hot_standby_feedback = on
wal_keep_size = '256MB'
wal_sender_timeout = '2s'
wal_receiver_status_interval = '1s'
archive_mode = on
# archive_command is the agent's (backup.enabled: ALTER SYSTEM with its own --pg1-path); until
# it is set, postgres keeps the WAL for it
CONF
  cat >"$PGDATA/pg_hba.conf" <<HBA
local all all scram-sha-256
host all all all scram-sha-256
host replication all all scram-sha-256
HBA
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  # the password as a psql variable from stdin: never on a command line
  echo "CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'pw';" |
    PGPASSWORD="$PGVIGIL_CLUSTERS__MAIN__PASSWORD" psql -qX -U postgres -d postgres \
      -v ON_ERROR_STOP=1 -v pw="${PGVIGIL_CLUSTERS__MAIN__REPLICATION__PASSWORD:-$PGVIGIL_CLUSTERS__MAIN__PASSWORD}" >/dev/null
  pg_ctl -D "$PGDATA" -w stop -m fast >/dev/null
  # the first start: no topology exists yet, and the sentinels publish one only once they see
  # this node answer as a primary; later starts are the agent's, as the topology says
  pg_ctl -D "$PGDATA" -w -l "$PGDATA/first-start.log" start >/dev/null
fi
# A standby's first start (INIT_STANDBY_FROM=<primary host>, empty $PGDATA): clone the primary
# (pg_basebackup -R writes standby.signal and primary_conninfo); the agent takes it from there.
if [ -n "${INIT_STANDBY_FROM:-}" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  export PGPASSWORD="${PGVIGIL_CLUSTERS__MAIN__REPLICATION__PASSWORD:-$PGVIGIL_CLUSTERS__MAIN__PASSWORD}"
  until pg_isready -q -h "$INIT_STANDBY_FROM" -p 5432; do sleep 1; done
  pg_basebackup -h "$INIT_STANDBY_FROM" -p 5432 -U replicator -D "$PGDATA" -X stream -R -c fast
  chmod 700 "$PGDATA"
  unset PGPASSWORD
fi
exec node /opt/pgvigil/bin/pgvigil.js "$@"
