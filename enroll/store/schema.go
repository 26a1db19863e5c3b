package store

import "github.com/scenicgate/scenicgate/internal/sqlitedb"

// migrations[i] brings the schema to version i+1. Never edit a released
// migration; add a new one.
var migrations = []sqlitedb.Migration{
	sqlitedb.Exec(
		`CREATE TABLE orders (
			order_id     TEXT PRIMARY KEY,
			request_hash TEXT NOT NULL,
			source       TEXT NOT NULL,
			created_ms   INTEGER NOT NULL
		)`,
		`CREATE TABLE tickets (
			ticket_id        TEXT PRIMARY KEY,
			order_id         TEXT NOT NULL REFERENCES orders(order_id),
			visitor_index    INTEGER NOT NULL,
			visitor_name     TEXT NOT NULL,
			phone            TEXT NOT NULL DEFAULT '',
			id_number_masked TEXT NOT NULL DEFAULT '',
			ticket_type      TEXT NOT NULL,
			entries_allowed  INTEGER NOT NULL DEFAULT 0,
			entries_per_day  INTEGER NOT NULL DEFAULT 0,
			valid_from       TEXT NOT NULL,
			valid_to         TEXT NOT NULL,
			valid_from_ms    INTEGER NOT NULL,
			valid_until_ms   INTEGER NOT NULL,
			slot_start_ms    INTEGER NOT NULL DEFAULT 0,
			slot_end_ms      INTEGER NOT NULL DEFAULT 0,
			zones            TEXT NOT NULL DEFAULT '[]',
			gates            TEXT NOT NULL DEFAULT '[]',
			revoked          INTEGER NOT NULL DEFAULT 0,
			revoke_reason    TEXT NOT NULL DEFAULT '',
			revoked_ms       INTEGER NOT NULL DEFAULT 0,
			qr_token_id      TEXT NOT NULL,
			qr_issued_ms     INTEGER NOT NULL,
			consent_ms       INTEGER NOT NULL,
			erased_ms        INTEGER NOT NULL DEFAULT 0,
			purged_ms        INTEGER NOT NULL DEFAULT 0,
			created_ms       INTEGER NOT NULL,
			updated_ms       INTEGER NOT NULL,
			version          INTEGER NOT NULL DEFAULT 1,
			UNIQUE (order_id, visitor_index)
		)`,
		`CREATE INDEX tickets_valid ON tickets (valid_from_ms, valid_until_ms)`,
		`CREATE INDEX tickets_name ON tickets (visitor_name)`,
		`CREATE INDEX tickets_phone ON tickets (phone)`,
		`CREATE TABLE faces (
			face_id    TEXT PRIMARY KEY,
			ticket_id  TEXT NOT NULL REFERENCES tickets(ticket_id) ON DELETE CASCADE,
			model      TEXT NOT NULL,
			descriptor BLOB NOT NULL,
			face_size  INTEGER NOT NULL,
			created_ms INTEGER NOT NULL
		)`,
		`CREATE INDEX faces_ticket ON faces (ticket_id)`,
		// Photos are kept only when the site configures it.
		`CREATE TABLE photos (
			face_id    TEXT PRIMARY KEY REFERENCES faces(face_id) ON DELETE CASCADE,
			mime       TEXT NOT NULL,
			data       BLOB NOT NULL
		)`,
		`CREATE TABLE api_keys (
			id          INTEGER PRIMARY KEY,
			name        TEXT NOT NULL UNIQUE,
			prefix      TEXT NOT NULL UNIQUE,
			hash        TEXT NOT NULL,
			created_ms  INTEGER NOT NULL,
			revoked_ms  INTEGER NOT NULL DEFAULT 0,
			last_used_ms INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE audit (
			id        INTEGER PRIMARY KEY,
			at_ms     INTEGER NOT NULL,
			actor     TEXT NOT NULL,
			action    TEXT NOT NULL,
			ticket_id TEXT NOT NULL DEFAULT '',
			order_id  TEXT NOT NULL DEFAULT '',
			detail    TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX audit_ticket ON audit (ticket_id)`,
		// op is 'put' (publish the ticket's current entitlement) or 'purge'
		// (remove the key and its history from the bucket).
		`CREATE TABLE outbox (
			seq        INTEGER PRIMARY KEY AUTOINCREMENT,
			ticket_id  TEXT NOT NULL,
			op         TEXT NOT NULL CHECK (op IN ('put', 'purge')),
			created_ms INTEGER NOT NULL
		)`,
	),
	// Each face (one enrollment photo) gets a descriptor from every
	// model enroll runs; dlib's descriptors were stored on the face row,
	// under the network's full name.
	sqlitedb.Exec(
		`CREATE TABLE descriptors (
			face_id    TEXT NOT NULL REFERENCES faces(face_id) ON DELETE CASCADE,
			model      TEXT NOT NULL,
			descriptor BLOB NOT NULL,
			PRIMARY KEY (face_id, model)
		) WITHOUT ROWID`,
		`INSERT INTO descriptors (face_id, model, descriptor)
			SELECT face_id, CASE model WHEN 'dlib_face_recognition_resnet_model_v1' THEN 'dlib' ELSE model END, descriptor
			FROM faces`,
		`ALTER TABLE faces DROP COLUMN model`,
		`ALTER TABLE faces DROP COLUMN descriptor`,
	),
	// API keys get a scope. Keys from before scopes were all ticket
	// shops' keys (admin's among them, which `enroll apikey set-scope`
	// turns into a staff key); a shop key owns the orders whose source
	// names it. Consent is recorded per face, when it was given: a face
	// was stored only with consent, at its creation; a ticket keeps its
	// consent time only if the visitor ever had a face enrolled, which the
	// audit log tells.
	sqlitedb.Exec(
		`ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'shop' CHECK (scope IN ('shop', 'staff'))`,
		`CREATE INDEX orders_source ON orders (source)`,
		`ALTER TABLE faces ADD COLUMN consent_ms INTEGER NOT NULL DEFAULT 0`,
		`UPDATE faces SET consent_ms = created_ms`,
		`UPDATE tickets SET consent_ms = 0
		 WHERE NOT EXISTS (SELECT 1 FROM faces f WHERE f.ticket_id = tickets.ticket_id)
		   AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.ticket_id = tickets.ticket_id
		       AND (a.action = 'ticket.faces' OR (a.action = 'ticket.create' AND json_extract(a.detail, '$.faces') > 0)))`,
	),
	// A descriptor records how its face was aligned: an ONNX model's
	// descriptors of a face aligned on dlib's landmarks (every one stored
	// so far, alignment '') and on FaceMesh's five points cannot be
	// compared, and a face may hold both while gates move from one
	// detector to the other.
	sqlitedb.Exec(
		`CREATE TABLE descriptors_aligned (
			face_id    TEXT NOT NULL REFERENCES faces(face_id) ON DELETE CASCADE,
			model      TEXT NOT NULL,
			alignment  TEXT NOT NULL DEFAULT '',
			descriptor BLOB NOT NULL,
			PRIMARY KEY (face_id, model, alignment)
		) WITHOUT ROWID`,
		`INSERT INTO descriptors_aligned (face_id, model, alignment, descriptor)
			SELECT face_id, model, '', descriptor FROM descriptors`,
		`DROP TABLE descriptors`,
		`ALTER TABLE descriptors_aligned RENAME TO descriptors`,
	),
}
