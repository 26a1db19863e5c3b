// Package bus holds what every ScenicGate program shares about NATS: the
// names of buckets, streams and subjects, how to connect (to an embedded
// server or a cluster), and how to create the JetStream assets.
package bus

import "strconv"

// JetStream assets. Their shapes are set in Provision.
const (
	// BucketEntitlements is the KV bucket of entitlements: key = ticket id,
	// value = protobuf sgpb.Entitlement. Enroll writes it; gates watch it.
	BucketEntitlements = "ENTITLEMENTS"
	// BucketRedemptions is the KV bucket in which online gates claim a
	// single-use entry with Create, so two gates never admit it twice.
	// Key = RedemptionKey(ticket, entry). A claim, once made, can be neither
	// overwritten nor deleted (see Provision).
	BucketRedemptions = "REDEMPTIONS"
	// BucketSite holds site-wide settings that gates need offline, such as
	// the QR public keys (KeyQRPublicKeys).
	BucketSite = "SITE"
	// BucketPresence holds, for anti-passback, whether each ticket's holder
	// is inside: key = ticket id, value = protobuf sgpb.Presence. Entry
	// gates mark a ticket inside with a compare-and-set, so two gates cannot
	// both let it in; exits and staff mark it outside.
	BucketPresence = "PRESENCE"
	// StreamAdmissions records every gate decision, on AdmissionSubject.
	StreamAdmissions = "ADMISSIONS"
)

// Keys in BucketSite, each holding a signed envelope (internal/signed).
const (
	// KeyQRPublicKeys holds the QR verification keys (sgpb.QRKeySet),
	// signed by enroll.
	KeyQRPublicKeys = "qr_public_keys"
	// KeySettings holds the site settings as JSON (capacities, time zone),
	// signed by admin.
	KeySettings = "settings"
	// KeyOccupancy holds admin's count of visitors today and inside, as
	// JSON, signed by admin.
	KeyOccupancy = "occupancy"
)

// AdmissionSubject is the subject a gate publishes its decisions on.
func AdmissionSubject(gateID string) string { return "admissions." + gateID }

// AdmissionSubjects matches every gate's admissions.
const AdmissionSubjects = "admissions.>"

// StatusSubject is the core-NATS subject of a gate's heartbeat.
func StatusSubject(gateID string) string { return "gates." + gateID + ".status" }

// StatusSubjects matches every gate's heartbeat.
const StatusSubjects = "gates.*.status"

// CommandSubject is the request/reply subject on which a gate takes commands.
func CommandSubject(gateID string) string { return "gates." + gateID + ".command" }

// CommandSubjects matches every gate's commands.
const CommandSubjects = "gates.*.command"

// RedemptionKey is the BucketRedemptions key claimed by a ticket's nth entry.
func RedemptionKey(ticketID string, entry int) string {
	return ticketID + "." + strconv.Itoa(entry)
}
