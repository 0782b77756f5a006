-- Zumzi schema, version 5: recordings of a room's composite (live output
-- "record"). The file is <data_dir>/recordings/<room_id>/<id>.mp4; the row
-- exists from the moment the recording starts (state 'recording') and is
-- marked 'done' with its duration and size once the file is finalised.
-- `started_by` is the user id of whoever started it, kept as text: the
-- recording outlives that account. Deleting the room deletes the rows.
CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    started_by   TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    size         INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'recording' CHECK (state IN ('recording', 'done'))
);
CREATE INDEX recordings_by_room ON recordings (room_id, started_at);
