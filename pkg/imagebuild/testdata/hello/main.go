// Command hello is a tiny component for the image builder's tests: it
// compiles in seconds for any platform.
package main

import (
	"fmt"

	"gotk.dev/pkg/version"
)

func main() { fmt.Println("hello from gotk", version.Version) }
