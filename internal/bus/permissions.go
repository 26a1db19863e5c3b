package bus

// Permissions is what a NATS user may do: the subjects it may publish to and
// subscribe to (NATS wildcards allowed), and whether it may answer the
// requests it receives.
type Permissions struct {
	Publish   []string
	Subscribe []string
	// Responses lets the user publish once to the reply subject of each
	// message it receives: answers to gate commands, and the flow-control
	// replies of its own JetStream watches.
	Responses bool
}

// AllowAll permits everything. Nothing in ScenicGate runs with it; tests
// give it to their own observer.
var AllowAll = Permissions{Publish: []string{">"}, Subscribe: []string{">"}, Responses: true}

// JetStream API and KV subjects.
const (
	jsAPI    = "$JS.API."
	kvPrefix = "$KV."
)

func streamOf(bucket string) string { return "KV_" + bucket }

// streamInfo lets a user look up streams, which binding to a bucket or a
// stream does.
func streamInfo(streams ...string) []string {
	var s []string
	for _, st := range streams {
		s = append(s, jsAPI+"STREAM.INFO."+st)
	}
	return s
}

// consumers lets a user create (and remove again) the consumers that watch a
// bucket or read a stream. nats.go names the stream alone, or the stream,
// the consumer and the filter, in the subject.
func consumers(streams ...string) []string {
	var s []string
	for _, st := range streams {
		s = append(s,
			jsAPI+"CONSUMER.CREATE."+st,
			jsAPI+"CONSUMER.CREATE."+st+".>",
			jsAPI+"CONSUMER.DELETE."+st+".>",
		)
	}
	return s
}

// readKeys lets a user read single keys of a bucket.
func readKeys(bucket string) []string {
	return []string{jsAPI + "DIRECT.GET." + streamOf(bucket) + ".>", jsAPI + "STREAM.MSG.GET." + streamOf(bucket)}
}

// writeKey lets a user put, create or delete key (a wildcard for any key).
func writeKey(bucket, key string) string { return kvPrefix + bucket + "." + key }

// Permissions returns what the identity may do on the bus: least privilege,
// with JetStream API subjects allowed per stream. Call Validate first.
func (i Identity) Permissions() Permissions {
	entitlements, site, redemptions := streamOf(BucketEntitlements), streamOf(BucketSite), streamOf(BucketRedemptions)
	presence := streamOf(BucketPresence)
	inbox := i.InboxPrefix() + ".>"
	switch i.Role {
	case RoleEnroll:
		pub := []string{jsAPI + "INFO"} // creating a bucket looks up the account first
		for _, st := range []string{entitlements, redemptions, site, presence, StreamAdmissions} {
			pub = append(pub, jsAPI+"STREAM.CREATE."+st, jsAPI+"STREAM.UPDATE."+st, jsAPI+"STREAM.INFO."+st)
		}
		pub = append(pub, writeKey(BucketEntitlements, ">"), writeKey(BucketSite, KeyQRPublicKeys))
		return Permissions{Publish: pub, Subscribe: []string{inbox}}
	case RoleAdmin:
		pub := streamInfo(entitlements, site, StreamAdmissions)
		pub = append(pub, consumers(entitlements, site, StreamAdmissions)...)
		pub = append(pub, jsAPI+"CONSUMER.MSG.NEXT."+StreamAdmissions+".>")
		pub = append(pub, readKeys(BucketSite)...)
		pub = append(pub, writeKey(BucketSite, KeySettings), writeKey(BucketSite, KeyOccupancy))
		// Staff read where a ticket's holder is and clear a stuck mark.
		pub = append(pub, streamInfo(presence)...)
		pub = append(pub, readKeys(BucketPresence)...)
		pub = append(pub, writeKey(BucketPresence, ">"))
		pub = append(pub, CommandSubjects)
		return Permissions{Publish: pub, Subscribe: []string{inbox, StatusSubjects}, Responses: true}
	case RoleGate:
		// The account's JetStream state tells the gate whether JetStream
		// has a quorum, which a claim needs; it holds no one's data.
		pub := []string{jsAPI + "INFO"}
		pub = append(pub, streamInfo(entitlements, site, redemptions)...)
		pub = append(pub, consumers(entitlements, site)...)
		pub = append(pub, readKeys(BucketRedemptions)...)
		pub = append(pub, writeKey(BucketRedemptions, ">"))
		// Anti-passback: read and mark where tickets' holders are.
		pub = append(pub, streamInfo(presence)...)
		pub = append(pub, readKeys(BucketPresence)...)
		pub = append(pub, writeKey(BucketPresence, ">"))
		pub = append(pub, AdmissionSubject(i.ID), StatusSubject(i.ID))
		return Permissions{Publish: pub, Subscribe: []string{inbox, CommandSubject(i.ID)}, Responses: true}
	}
	return Permissions{}
}
