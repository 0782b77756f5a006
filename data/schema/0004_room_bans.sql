-- Zumzi schema, version 4: members a moderator removed from a room. A
-- removed user may not join the room again (with any PIN) until a moderator
-- lets them back in, which deletes the row. `banned_by` is the moderator's
-- user id, kept as text: the ban outlives the moderator's account.
CREATE TABLE room_bans (
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    banned_by  TEXT NOT NULL,
    banned_at  INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
