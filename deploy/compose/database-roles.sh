#!/bin/sh
# Run by the postgres image on the first start of an empty data volume (/docker-entrypoint-initdb.d/): the logins
# docker-compose.yml uses instead of the superuser. The migrator may create schemas in the database and so owns each
# service's schema; each service's runtime role starts with no privileges and is granted its own schema's tables by
# `<service> migrate` (docs/contracts.md, least privilege). An existing volume keeps the roles it has: to add them
# to one made before this script, run it once by hand (`docker compose exec postgres sh /docker-entrypoint-initdb.d/database-roles.sh`).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v database="$POSTGRES_DB" \
     -v migrator="$MIGRATOR_DATABASE_PASSWORD" \
     -v intake="$INTAKE_DATABASE_PASSWORD" \
     -v screening="$SCREENING_DATABASE_PASSWORD" \
     -v sessions="$SESSIONS_DATABASE_PASSWORD" \
     -v notifications="$NOTIFICATIONS_DATABASE_PASSWORD" \
     -v register="$REGISTER_DATABASE_PASSWORD" <<'SQL'
CREATE ROLE clinicflow_migrator LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'migrator';
GRANT CREATE ON DATABASE :"database" TO clinicflow_migrator;
CREATE ROLE clinicflow_intake LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'intake';
CREATE ROLE clinicflow_screening LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'screening';
CREATE ROLE clinicflow_sessions LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'sessions';
CREATE ROLE clinicflow_notifications LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'notifications';
CREATE ROLE clinicflow_register LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'register';
SQL
