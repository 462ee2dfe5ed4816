-- Run once by the postgres image when its volume is first initialised
-- (docker-entrypoint-initdb.d): one database per service, each owned by the
-- service's own role, so that no service can read another's tables.
-- A service added later needs these lines run by hand on an existing volume,
-- or `docker compose down -v` to start over.
CREATE ROLE catalog LOGIN PASSWORD 'catalog';
CREATE DATABASE catalog OWNER catalog;

CREATE ROLE booking LOGIN PASSWORD 'booking';
CREATE DATABASE booking OWNER booking;

CREATE ROLE notifications LOGIN PASSWORD 'notifications';
CREATE DATABASE notifications OWNER notifications;
