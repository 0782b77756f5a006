-- Zumzi schema, version 2: a room's last-N setting, how many publishers'
-- camera video the room forwards, chosen by who spoke last (0: all of them).
ALTER TABLE rooms ADD COLUMN last_n INTEGER NOT NULL DEFAULT 0 CHECK (last_n >= 0);
