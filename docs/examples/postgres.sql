-- The role and database Weft needs on PostgreSQL 15 or later; run as a
-- superuser: sudo -u postgres psql -f docs/examples/postgres.sql
-- Weft creates its tables, schemas and functions itself (as the database's
-- owner), so the role needs no other privilege. Choose your own password.
CREATE ROLE weft LOGIN PASSWORD 'change-me';
CREATE DATABASE weft OWNER weft;
