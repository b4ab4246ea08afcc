-- Members, concerts, the seat map, holds and reservations.
-- Times are UTC, DATETIME(6). hold_seats carries no unique key on purpose:
-- preventing a double claim is the claim strategy's job, and the lab counts its failures.

CREATE TABLE members (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    issuer      VARCHAR(255) NOT NULL,
    subject     VARCHAR(255) NOT NULL,
    email       VARCHAR(255) NULL,
    name        VARCHAR(255) NULL,
    created_at  DATETIME(6) NOT NULL,
    last_login_at DATETIME(6) NOT NULL,
    UNIQUE KEY uq_members_identity (issuer, subject)
) ENGINE=InnoDB;

CREATE TABLE concerts (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    title        VARCHAR(200) NOT NULL,
    venue        VARCHAR(200) NOT NULL,
    starts_at    DATETIME(6) NOT NULL,
    base_price   INT NOT NULL,
    ticket_limit INT NOT NULL DEFAULT 3
) ENGINE=InnoDB;

CREATE TABLE zones (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    concert_id    BIGINT NOT NULL,
    code          VARCHAR(8) NOT NULL,
    grade         VARCHAR(16) NOT NULL,
    price         INT NOT NULL,
    row_count     INT NOT NULL,
    seats_per_row INT NOT NULL,
    UNIQUE KEY uq_zones_concert_code (concert_id, code),
    CONSTRAINT fk_zones_concert FOREIGN KEY (concert_id) REFERENCES concerts (id)
) ENGINE=InnoDB;

CREATE TABLE seats (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    concert_id  BIGINT NOT NULL,
    zone_id     BIGINT NOT NULL,
    row_label   VARCHAR(4) NOT NULL,
    number      INT NOT NULL,
    price       INT NOT NULL,
    status      ENUM('AVAILABLE', 'HELD', 'RESERVED', 'SOLD') NOT NULL DEFAULT 'AVAILABLE',
    version     INT NOT NULL DEFAULT 0,
    hold_id     BIGINT NULL,
    KEY ix_seats_zone_row (zone_id, row_label, number),
    KEY ix_seats_concert_status (concert_id, status)
) ENGINE=InnoDB;

CREATE TABLE holds (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    concert_id  BIGINT NOT NULL,
    member_id   BIGINT NOT NULL,
    status      ENUM('ACTIVE', 'CONVERTED', 'RELEASED') NOT NULL,
    strategy    VARCHAR(32) NOT NULL,
    amount      INT NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    expires_at  DATETIME(6) NOT NULL,
    released_at DATETIME(6) NULL,
    released_by ENUM('consumer', 'sweeper', 'member', 'conversion') NULL,
    KEY ix_holds_member (member_id, concert_id, status),
    KEY ix_holds_status_expiry (status, expires_at)
) ENGINE=InnoDB;

CREATE TABLE hold_seats (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    hold_id     BIGINT NOT NULL,
    seat_id     BIGINT NOT NULL,
    concert_id  BIGINT NOT NULL,
    price       INT NOT NULL,
    released_at DATETIME(6) NULL,
    KEY ix_hold_seats_hold (hold_id),
    KEY ix_hold_seats_seat (seat_id, released_at)
) ENGINE=InnoDB;

CREATE TABLE reservations (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    hold_id      BIGINT NOT NULL,
    member_id    BIGINT NOT NULL,
    concert_id   BIGINT NOT NULL,
    order_id     VARCHAR(64) NOT NULL,
    amount       INT NOT NULL,
    status       ENUM('AWAITING_PAYMENT', 'CONFIRMED', 'EXPIRED', 'CANCELED') NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    expires_at   DATETIME(6) NOT NULL,
    confirmed_at DATETIME(6) NULL,
    released_at  DATETIME(6) NULL,
    UNIQUE KEY uq_reservations_hold (hold_id),
    UNIQUE KEY uq_reservations_order (order_id),
    KEY ix_reservations_member (member_id, created_at),
    KEY ix_reservations_status_expiry (status, expires_at)
) ENGINE=InnoDB;

CREATE TABLE refresh_tokens (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    member_id   BIGINT NOT NULL,
    token_hash  CHAR(64) NOT NULL,
    family_id   CHAR(32) NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    expires_at  DATETIME(6) NOT NULL,
    used_at     DATETIME(6) NULL,
    revoked_at  DATETIME(6) NULL,
    UNIQUE KEY uq_refresh_tokens_hash (token_hash),
    KEY ix_refresh_tokens_family (family_id)
) ENGINE=InnoDB;
