package store

import "github.com/scenicgate/scenicgate/internal/sqlitedb"

// migrations[i] brings the schema to version i+1. Never edit one that has
// shipped; append a new one.
var migrations = []sqlitedb.Migration{
	sqlitedb.Exec(
		`CREATE TABLE users (
			id              INTEGER PRIMARY KEY,
			name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
			role            TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
			password_hash   TEXT NOT NULL,
			disabled        INTEGER NOT NULL DEFAULT 0,
			failed_logins   INTEGER NOT NULL DEFAULT 0,
			locked_until_ms INTEGER NOT NULL DEFAULT 0,
			created_at_ms   INTEGER NOT NULL,
			last_login_ms   INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE sessions (
			id_hash       TEXT PRIMARY KEY,
			user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
			csrf_token    TEXT NOT NULL,
			created_at_ms INTEGER NOT NULL,
			expires_at_ms INTEGER NOT NULL,
			ip            TEXT NOT NULL DEFAULT '',
			flash         TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX sessions_expiry ON sessions (expires_at_ms)`,
		`CREATE TABLE audit (
			id      INTEGER PRIMARY KEY,
			at_ms   INTEGER NOT NULL,
			actor   TEXT NOT NULL,
			action  TEXT NOT NULL,
			target  TEXT NOT NULL DEFAULT '',
			detail  TEXT NOT NULL DEFAULT '',
			ok      INTEGER NOT NULL DEFAULT 1,
			ip      TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX audit_at ON audit (at_ms)`,
		`CREATE TABLE admissions (
			event_id     TEXT PRIMARY KEY,
			stream_seq   INTEGER NOT NULL,
			gate_id      TEXT NOT NULL,
			zone         TEXT NOT NULL,
			ticket_id    TEXT NOT NULL,
			decision     INTEGER NOT NULL,
			reason       TEXT NOT NULL,
			method       INTEGER NOT NULL,
			direction    INTEGER NOT NULL,
			distance     REAL NOT NULL,
			margin       REAL NOT NULL,
			frames       INTEGER NOT NULL,
			at_ms        INTEGER NOT NULL,
			offline      INTEGER NOT NULL,
			latency_ms   REAL NOT NULL,
			entry_number INTEGER NOT NULL,
			operator     TEXT NOT NULL,
			note         TEXT NOT NULL
		)`,
		`CREATE INDEX admissions_at ON admissions (at_ms)`,
		`CREATE INDEX admissions_ticket ON admissions (ticket_id, entry_number)`,
		`CREATE TABLE entitlements (
			ticket_id       TEXT PRIMARY KEY,
			order_id        TEXT NOT NULL,
			visitor_name    TEXT NOT NULL,
			ticket_type     INTEGER NOT NULL,
			entries_allowed INTEGER NOT NULL,
			entries_per_day INTEGER NOT NULL,
			valid_from_ms   INTEGER NOT NULL,
			valid_until_ms  INTEGER NOT NULL,
			revoked         INTEGER NOT NULL,
			revoke_reason   TEXT NOT NULL,
			version         INTEGER NOT NULL,
			updated_at_ms   INTEGER NOT NULL,
			revision        INTEGER NOT NULL
		)`,
		`CREATE TABLE gates (
			gate_id           TEXT PRIMARY KEY,
			zone              TEXT NOT NULL,
			status_at_ms      INTEGER NOT NULL,
			received_at_ms    INTEGER NOT NULL,
			mode              TEXT NOT NULL,
			fps               REAL NOT NULL,
			last_frame_age_ms INTEGER NOT NULL,
			relay             TEXT NOT NULL,
			relay_ok          INTEGER NOT NULL,
			mirror_revision   INTEGER NOT NULL,
			mirror_lag        INTEGER NOT NULL,
			outbox_depth      INTEGER NOT NULL,
			gallery_size      INTEGER NOT NULL,
			faults            TEXT NOT NULL,
			started_at_ms     INTEGER NOT NULL,
			version           TEXT NOT NULL
		)`,
		`CREATE TABLE conflicts (
			id             INTEGER PRIMARY KEY,
			ticket_id      TEXT NOT NULL,
			entry_number   INTEGER NOT NULL,
			admissions     INTEGER NOT NULL,
			first_at_ms    INTEGER NOT NULL,
			last_at_ms     INTEGER NOT NULL,
			detected_at_ms INTEGER NOT NULL,
			resolved_at_ms INTEGER NOT NULL DEFAULT 0,
			resolved_by    TEXT NOT NULL DEFAULT '',
			note           TEXT NOT NULL DEFAULT '',
			UNIQUE (ticket_id, entry_number)
		)`,
		`CREATE TABLE cursors (
			name  TEXT PRIMARY KEY,
			value INTEGER NOT NULL
		)`,
	),
	// Gates match faces with one of several embedding models; their
	// admissions' distances are in that model's metric.
	sqlitedb.Exec(
		`ALTER TABLE admissions ADD COLUMN face_model TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE gates ADD COLUMN face_model TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE gates ADD COLUMN tickets_without_model INTEGER NOT NULL DEFAULT 0`,
	),
	// A conflict is a ticket used beyond what it allows, in all or on one
	// site day (day), as many as allowed; entry_number is kept for tickets
	// not in the mirror, whose conflicts are still an entry number let
	// through twice.
	sqlitedb.Exec(
		`CREATE TABLE conflicts_new (
			id             INTEGER PRIMARY KEY,
			ticket_id      TEXT NOT NULL,
			day            TEXT NOT NULL DEFAULT '',
			entry_number   INTEGER NOT NULL,
			allowed        INTEGER NOT NULL DEFAULT 0,
			admissions     INTEGER NOT NULL,
			first_at_ms    INTEGER NOT NULL,
			last_at_ms     INTEGER NOT NULL,
			detected_at_ms INTEGER NOT NULL,
			resolved_at_ms INTEGER NOT NULL DEFAULT 0,
			resolved_by    TEXT NOT NULL DEFAULT '',
			note           TEXT NOT NULL DEFAULT '',
			UNIQUE (ticket_id, day, entry_number)
		)`,
		`INSERT INTO conflicts_new (id, ticket_id, entry_number, admissions, first_at_ms, last_at_ms, detected_at_ms,
			resolved_at_ms, resolved_by, note)
		 SELECT id, ticket_id, entry_number, admissions, first_at_ms, last_at_ms, detected_at_ms,
			resolved_at_ms, resolved_by, note FROM conflicts`,
		`DROP TABLE conflicts`,
		`ALTER TABLE conflicts_new RENAME TO conflicts`,
	),
	// Gates choose their 1:N threshold for their gallery's size and report
	// it with what it was chosen from.
	sqlitedb.Exec(
		`ALTER TABLE gates ADD COLUMN threshold REAL NOT NULL DEFAULT 0`,
		`ALTER TABLE gates ADD COLUMN threshold_source TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE gates ADD COLUMN threshold_gallery INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE gates ADD COLUMN impostor_pairs INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE gates ADD COLUMN expected_fpir REAL NOT NULL DEFAULT 0`,
		`ALTER TABLE gates ADD COLUMN target_fpir REAL NOT NULL DEFAULT 0`,
	),
}
