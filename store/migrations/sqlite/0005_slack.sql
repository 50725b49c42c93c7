-- Slack messages: where each keyed thread message of an incident lives in Slack.
-- A row with an empty ts is a post that was started and may have reached Slack
-- (the process died, or the answer was lost, before ts came back): the next
-- attempt looks for it in Slack by its metadata before posting again.
CREATE TABLE slack_messages (
    incident_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    channel     TEXT NOT NULL,
    thread_ts   TEXT NOT NULL,   -- the root's ts for replies; empty for the root
    ts          TEXT NOT NULL,   -- empty until Slack answered the post
    started_at  TEXT NOT NULL,
    posted_at   TEXT NOT NULL,
    PRIMARY KEY (incident_id, key)
);
-- Buttons and thread replies arrive as (channel, ts): find the incident from them.
CREATE INDEX slack_messages_at ON slack_messages (channel, ts);
