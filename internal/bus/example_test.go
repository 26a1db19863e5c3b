package bus_test

import (
	"fmt"
	"strings"

	"github.com/scenicgate/scenicgate/internal/bus"
)

// A gate may publish only its own admissions and heartbeat, and listen only
// to its own commands. The configuration enroll prints for a cluster, which
// its embedded server runs on too, says so for every issued key.
func Example() {
	gate := bus.Gate("north-1")
	perms := gate.Permissions()
	for _, s := range perms.Publish[len(perms.Publish)-2:] {
		fmt.Println("publish", s)
	}
	fmt.Println("subscribe", perms.Subscribe)

	text := bus.ServerConfig{Users: []bus.User{{Name: gate.String(),
		Key: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4", Permissions: perms}}}.Text()
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "nkey:") || strings.Contains(line, "subscribe:") || strings.Contains(line, "# gate") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// publish admissions.north-1
	// publish gates.north-1.status
	// subscribe [_INBOX.gate.north-1.> gates.north-1.command]
	// # gate north-1
	// nkey: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"
	// subscribe: { allow: ["_INBOX.gate.north-1.>", "gates.north-1.command"] }
}
