-- The service's own replication heartbeat (pt-heartbeat's idea): with a read policy other
-- than `primary`, every worker stamps row 1 on the primary every 100 ms with its clock
-- (epoch seconds), and reads it back on the replica: lag = now - the newest stamp there.
-- Not a booking table: `reset` leaves it alone.
CREATE TABLE replica_heartbeat (
  id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  stamped_at DOUBLE NOT NULL
) ENGINE=InnoDB
