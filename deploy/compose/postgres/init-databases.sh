#!/bin/sh
# First start of the PostgreSQL container: a role and a database per service, each owned by its
# service (no service can read another's tables). Password: ONEWINDOW_DB_PASSWORD from .env.
set -eu
for svc in console intake seal deadline notify attendance; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v svc="$svc" -v pw="$ONEWINDOW_DB_PASSWORD" <<'SQL'
CREATE ROLE :"svc" LOGIN PASSWORD :'pw';
CREATE DATABASE :"svc" OWNER :"svc";
REVOKE ALL ON DATABASE :"svc" FROM PUBLIC;
SQL
done
