-- Zumzi schema, version 1: apps, users, access tokens, login codes, rooms and
-- their members. Times are milliseconds since the Unix epoch. Secrets (API
-- keys, access tokens) are stored only as SHA-256 hex digests.

CREATE TABLE apps (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    api_key_hash  TEXT NOT NULL UNIQUE,
    is_default    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    email       TEXT,
    phone       TEXT,
    name        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    photo_url   TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    CHECK (email IS NOT NULL OR phone IS NOT NULL),
    UNIQUE (app_id, email),
    UNIQUE (app_id, phone)
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX tokens_by_user ON tokens (user_id);

CREATE TABLE login_codes (
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    address     TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',   -- display name given when the code was asked for
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, address)
);

CREATE TABLE rooms (
    id               TEXT PRIMARY KEY,
    app_id           TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    owner_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    preset           TEXT NOT NULL,
    participant_pin  TEXT NOT NULL,
    viewer_pin       TEXT NOT NULL,
    locked           INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    CHECK (participant_pin <> viewer_pin)
);
CREATE INDEX rooms_by_owner ON rooms (app_id, owner_id);

CREATE TABLE room_members (
    room_id      TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    permissions  INTEGER NOT NULL,
    joined_at    INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_by_user ON room_members (user_id);
