-- The replica's init script (docker-entrypoint-initdb.d): replicate the primary from the
-- beginning of its binlog by GTID, so the schema and the service's user that the one-shot
-- `prepare` service creates on the primary arrive here by replication, as in the lab.
CHANGE MASTER TO
  MASTER_HOST = 'mariadb-primary',
  MASTER_PORT = 3306,
  MASTER_USER = 'repl',
  MASTER_PASSWORD = 'repl',
  MASTER_USE_GTID = slave_pos,
  MASTER_CONNECT_RETRY = 5;
START SLAVE;
