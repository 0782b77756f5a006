-- Zumzi schema, version 2: messaging. Groups and their members, messages of
-- every conversation, and per-user cursors (delivered / read up to a message
-- id) of each conversation. Conversation ids name their kind:
--   "dm:<user id>:<user id>"  1-1, the two ids in ascending order
--   "group:<group id>"        a group
--   "room:<room id>"          a room's chat (members with chat permissions)

ALTER TABLE users ADD COLUMN last_seen_at INTEGER;  -- last WebSocket disconnect

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    photo_url   TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

-- Uploaded files. The bytes live under <data dir>/files/ by a random name
-- (`storage`), the thumbnail of a picture likewise. A file is readable by
-- its owner and by the members of every conversation a message carrying it
-- was sent to; a public one (profile photos) by everyone in the app.
CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    owner_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,   -- as uploaded, checked to be a plain file name
    content_type  TEXT NOT NULL,   -- sniffed from the bytes
    size          INTEGER NOT NULL,
    storage       TEXT NOT NULL UNIQUE,
    thumbnail     TEXT UNIQUE,     -- storage name of the 100x100 JPEG, pictures only
    width         INTEGER,         -- pictures only
    height        INTEGER,
    public        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    conversation    TEXT NOT NULL,
    sender_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,             -- the sender's id: resends are idempotent
    text            TEXT NOT NULL DEFAULT '',
    forwarded_from  INTEGER,                   -- id of the message this one forwards
    file_id         TEXT REFERENCES files (id) ON DELETE SET NULL,  -- attachment; `text` is its caption
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER,                   -- deleted for everyone: text cleared
    UNIQUE (sender_id, client_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation, id);
CREATE INDEX messages_by_file ON messages (file_id) WHERE file_id IS NOT NULL;

CREATE TABLE conversation_state (
    conversation  TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delivered_id  INTEGER NOT NULL DEFAULT 0,  -- the user's devices have everything up to here
    read_id       INTEGER NOT NULL DEFAULT 0,  -- the user has read everything up to here
    PRIMARY KEY (conversation, user_id)
);
CREATE INDEX conversation_state_by_user ON conversation_state (user_id);

-- A user's contacts (one-way: adding someone does not add you to theirs) and
-- the users they blocked: a blocked user cannot send them 1-1 messages.
CREATE TABLE contacts (
    owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (owner_id, contact_id)
);
CREATE INDEX contacts_by_contact ON contacts (contact_id);

CREATE TABLE blocks (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);
