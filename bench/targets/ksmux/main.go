// Command ksmux runs the original KSPS server, github.com/kamalshkeir/ksmux/ksps at the version pinned in
// bench/go.mod, as a benchmark target. Nothing of it is copied: it is imported as a Go module.
//
// Usage: ksmux HOST:PORT
package main

import (
	"fmt"
	"os"

	"github.com/kamalshkeir/ksmux"
	"github.com/kamalshkeir/ksmux/ksps"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ksmux HOST:PORT")
		os.Exit(2)
	}
	// The server as its README shows it: default settings, only the address changed.
	ksps.NewServer(ksmux.Config{Address: os.Args[1]}).Run()
}
