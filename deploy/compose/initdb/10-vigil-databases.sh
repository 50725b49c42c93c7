#!/bin/sh
# docker-compose.yml mounts this into the postgres image's /docker-entrypoint-initdb.d,
# so it runs once, when the postgres-data volume is first created (later password
# changes in .env need ALTER ROLE, or `docker compose down -v` to start over).
#
# One PostgreSQL server, two owners:
#   vigil     owns vigil                          (Vigil's store: events, incidents, audit trail, leases)
#   temporal  owns temporal, temporal_visibility  (`vigil temporal-server` sets up their schema)
set -e

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v vigil_pw="${VIGIL_DB_PASSWORD:-vigil}" \
  -v temporal_pw="${TEMPORAL_DB_PASSWORD:-temporal}" <<'SQL'
CREATE ROLE vigil LOGIN PASSWORD :'vigil_pw';
CREATE DATABASE vigil OWNER vigil;
CREATE ROLE temporal LOGIN PASSWORD :'temporal_pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
-- Temporal's visibility schema wants btree_gin; create it as the superuser so
-- the schema setup finds it there.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
