-- The primary's init script (docker-entrypoint-initdb.d): the account the replica reads the
-- binlog with. It is binlogged, so the replica creates it too when it replays the binlog.
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
