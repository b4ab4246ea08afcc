-- The transactional outbox and the lab's record of what the event consumer received.
--
-- outbox: one row per domain event (id = the envelope's UUID), inserted in the
-- transaction that made the change; seq orders them.
-- The relay claims rows with published_at IS NULL (FOR UPDATE SKIP LOCKED, oldest seq
-- first) and stamps published_at once the broker has confirmed the publish. Rows are
-- never deleted during a run: the lab compares them with received_events.
-- ix_outbox_pending serves the claim: MariaDB has no partial index, so published_at
-- leads and the NULLs sort first, in seq order.
CREATE TABLE outbox (
    seq            BIGINT AUTO_INCREMENT PRIMARY KEY,
    id             CHAR(36) NOT NULL,
    type           VARCHAR(64) NOT NULL,
    aggregate_id   VARCHAR(64) NOT NULL,
    correlation_id VARCHAR(128) NULL,
    occurred_at    DATETIME(6) NOT NULL,
    payload        LONGTEXT NOT NULL,
    published_at   DATETIME(6) NULL,
    attempts       INT NOT NULL DEFAULT 0,
    last_error     VARCHAR(255) NULL,
    UNIQUE KEY uq_outbox_id (id),
    KEY ix_outbox_pending (published_at, seq)
) ENGINE=InnoDB;

-- received_events: one row per event the consumer applied (the primary key is the
-- dedupe), and `deliveries` counts every receipt, so a broker redelivery or a relay
-- re-publish shows up as deliveries > 1 instead of a second row. Lost = outbox rows
-- with no row here; duplicates = rows with deliveries > 1.
CREATE TABLE received_events (
    event_id          CHAR(36) NOT NULL PRIMARY KEY,
    type              VARCHAR(64) NOT NULL,
    aggregate_id      VARCHAR(64) NOT NULL,
    correlation_id    VARCHAR(128) NULL,
    occurred_at       DATETIME(6) NOT NULL,
    first_received_at DATETIME(6) NOT NULL,
    last_received_at  DATETIME(6) NOT NULL,
    deliveries        INT NOT NULL DEFAULT 1
) ENGINE=InnoDB;
