package config_test

import (
	"fmt"

	"github.com/scenicgate/scenicgate/internal/config"
)

func Example() {
	fs := config.NewFlagSet("gate [options]")
	zone := fs.String("zone", "main", "the zone this gate leads into")
	pulse := fs.Duration("pulse", 0, "relay pulse length")
	env := map[string]string{"SCENICGATE_ZONE": "grotto", "SCENICGATE_PULSE": "300ms"}
	// The command line wins over the environment.
	if err := config.Parse(fs, []string{"--pulse", "500ms"}, func(k string) string { return env[k] }); err != nil {
		panic(err)
	}
	fmt.Println(*zone, *pulse, config.EnvName("camera-fps"))
	// Output: grotto 500ms SCENICGATE_CAMERA_FPS
}
