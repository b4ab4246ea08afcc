-- Payments: one row per provider payment (paymentKey), and every webhook event received.
-- A reservation (order) may see several payments: a retried checkout gets a new paymentKey,
-- and any capture that did not confirm the reservation must be refunded, so each is kept.
-- `settled` = 0 while the service still owes an action (confirm or refund); the reconciler
-- claims such rows by (settled, next_check_at) with FOR UPDATE SKIP LOCKED.

CREATE TABLE payments (
    id               BIGINT AUTO_INCREMENT PRIMARY KEY,
    payment_key      VARCHAR(200) NOT NULL,
    order_id         VARCHAR(64) NOT NULL,
    reservation_id   BIGINT NOT NULL,
    member_id        BIGINT NOT NULL,
    amount           INT NOT NULL,
    captured_amount  INT NOT NULL DEFAULT 0,
    refunded_amount  INT NOT NULL DEFAULT 0,
    status           ENUM('READY', 'IN_PROGRESS', 'DONE', 'PARTIAL_CANCELED', 'CANCELED',
                          'ABORTED', 'EXPIRED') NOT NULL,
    outcome          VARCHAR(40) NULL,
    confirmed        TINYINT(1) NOT NULL DEFAULT 0,
    settled          TINYINT(1) NOT NULL DEFAULT 0,
    failure_code     VARCHAR(64) NULL,
    last_source      VARCHAR(16) NULL,
    writes           INT NOT NULL DEFAULT 0,
    check_attempts   INT NOT NULL DEFAULT 0,
    next_check_at    DATETIME(6) NOT NULL,
    created_at       DATETIME(6) NOT NULL,
    updated_at       DATETIME(6) NOT NULL,
    approved_at      DATETIME(6) NULL,
    refunded_at      DATETIME(6) NULL,
    UNIQUE KEY uq_payments_key (payment_key),
    KEY ix_payments_order (order_id),
    KEY ix_payments_reconcile (settled, next_check_at)
) ENGINE=InnoDB;

CREATE TABLE webhook_events (
    id                BIGINT AUTO_INCREMENT PRIMARY KEY,
    event_id          VARCHAR(64) NOT NULL,
    event_type        VARCHAR(64) NOT NULL,
    payment_key       VARCHAR(200) NULL,
    order_id          VARCHAR(64) NULL,
    reported_status   VARCHAR(32) NULL,
    applied_status    VARCHAR(32) NULL,
    deliveries        INT NOT NULL DEFAULT 1,
    times_applied     INT NOT NULL DEFAULT 0,
    first_received_at DATETIME(6) NOT NULL,
    last_received_at  DATETIME(6) NOT NULL,
    applied_at        DATETIME(6) NULL,
    UNIQUE KEY uq_webhook_events_event (event_id)
) ENGINE=InnoDB;
