// Package i18n is the message catalogue of admin's UI: Simplified Chinese,
// the default, and English. Every string staff read comes from here; the
// tests check that both languages have the same keys with the same
// placeholders, and that every key the templates use exists.
package i18n

import (
	"fmt"
	"sort"

	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Default is the language used when none is chosen.
const Default = "zh"

// catalogues maps a language code to its messages. Values are fmt formats
// when a key takes arguments.
var catalogues = map[string]map[string]string{"zh": zh, "en": en}

// Supported reports whether code names a catalogue.
func Supported(code string) bool { _, ok := catalogues[code]; return ok }

// Codes returns the language codes, sorted.
func Codes() []string {
	out := make([]string, 0, len(catalogues))
	for c := range catalogues {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Keys returns the keys of a catalogue, sorted; nil for an unknown code.
func Keys(code string) []string {
	m, ok := catalogues[code]
	if !ok {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Has reports whether key exists in the default catalogue.
func Has(key string) bool { _, ok := catalogues[Default][key]; return ok }

// Lang translates into one language. The zero value is not useful; use Get.
// A Lang is a value that is only read, so it is safe for concurrent use.
type Lang struct {
	code string
	msgs map[string]string
}

// Get returns the language code, or the default for an unknown code.
func Get(code string) Lang {
	if !Supported(code) {
		code = Default
	}
	return Lang{code: code, msgs: catalogues[code]}
}

// Code returns "zh" or "en".
func (l Lang) Code() string { return l.code }

// HTMLLang returns the value for <html lang>.
func (l Lang) HTMLLang() string {
	if l.code == "zh" {
		return "zh-CN"
	}
	return l.code
}

// Other returns the code of the language to switch to.
func (l Lang) Other() string {
	if l.code == "zh" {
		return "en"
	}
	return "zh"
}

// T returns the message for key, formatted with args when there are any.
// A missing key returns the key itself, so a gap shows rather than breaks a
// page.
func (l Lang) T(key string, args ...any) string {
	msg, ok := l.msgs[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// lookup returns the message for key, or fallback when there is none.
func (l Lang) lookup(key, fallback string) string {
	if msg, ok := l.msgs[key]; ok {
		return msg
	}
	return fallback
}

// Reason names a decision's reason code ("already_used", ...); an unknown
// code is shown as it is.
func (l Lang) Reason(code string) string {
	if code == "" {
		return "—"
	}
	return l.lookup("reason."+code, code)
}

// Decision names an outcome: entry or exit let through, or denied.
func (l Lang) Decision(allowed, exit bool) string {
	switch {
	case !allowed:
		return l.T("decision.deny")
	case exit:
		return l.T("decision.exit")
	}
	return l.T("decision.entry")
}

var methodKeys = map[sgpb.Method]string{
	sgpb.Method_METHOD_FACE: "method.face", sgpb.Method_METHOD_QR: "method.qr",
	sgpb.Method_METHOD_VERIFY: "method.verify", sgpb.Method_METHOD_MANUAL: "method.manual",
}

// Method names how a visitor was identified.
func (l Lang) Method(m sgpb.Method) string {
	if k, ok := methodKeys[m]; ok {
		return l.T(k)
	}
	return "—"
}

// Direction names the direction of a gate.
func (l Lang) Direction(d sgpb.Direction) string {
	if d == sgpb.Direction_DIRECTION_EXIT {
		return l.T("direction.exit")
	}
	return l.T("direction.entry")
}

// Role names a staff role ("viewer", "operator", "admin").
func (l Lang) Role(r string) string { return l.lookup("role."+r, r) }

// Action names an audit action ("login", "revoke", ...).
func (l Lang) Action(a string) string { return l.lookup("action."+a, a) }

// TicketType names a ticket type as enroll spells it ("single", ...).
func (l Lang) TicketType(t string) string { return l.lookup("tickettype."+t, t) }
