package ksps_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeReplaceCommands runs README.md's "Use before publication" commands in a throwaway
// directory, with README's example as main.go, as a user who cannot `go get` the module yet
// would: the module must build through the replace directive, and the example must handle its
// errors (an unreachable server is an error message and exit status 1, not a nil-pointer panic).
// The module cache serves github.com/coder/websocket (GOPROXY=off): no network.
func TestReadmeReplaceCommands(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	commands := readmeBlock(t, string(readme), "### Use before publication", "sh")
	example := readmeBlock(t, string(readme), "## Example", "go")

	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	app := filepath.Join(work, "myapp")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	source := strings.ReplaceAll(example, `"localhost:9313"`, `os.Args[1]`)
	source = strings.Replace(source, "import (\n", "import (\n\t\"os\"\n", 1)
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	// The checkout is this repository; `go run .` becomes a build whose binary is run below.
	script := regexp.MustCompile(`(?m)^KSPS=\S+`).ReplaceAllString(commands, "KSPS="+shellQuote(repo))
	script = strings.Replace(script, "go run .", "go build -o app .", 1)
	if script == commands || !strings.Contains(script, "go build -o app .") {
		t.Fatalf("README's commands changed shape:\n%s", commands)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README's commands failed: %v\n%s", err, out)
	}

	binary := filepath.Join(app, "app")
	var stdout, stderr bytes.Buffer
	run := exec.Command(binary, sharedServer.Address)
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil || !strings.Contains(stdout.String(), "Got: From Go!") {
		t.Errorf("README's example against a server: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	down := exec.Command(binary, "127.0.0.1:1")
	down.Stdout, down.Stderr = &stdout, &stderr
	err = down.Run()
	exit, _ := err.(*exec.ExitError)
	if exit == nil || exit.ExitCode() != 1 || strings.Contains(stderr.String(), "panic") || !strings.Contains(stderr.String(), "connection failed") {
		t.Errorf("README's example without a server must log the error and exit 1: %v\nstderr: %s", err, stderr.String())
	}
}

// readmeBlock returns the first fenced code block of lang after heading.
func readmeBlock(t *testing.T, readme, heading, lang string) string {
	t.Helper()
	start := strings.Index(readme, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	rest := readme[start:]
	open := strings.Index(rest, "```"+lang+"\n")
	if open < 0 {
		t.Fatalf("README.md's %q section has no %s block", heading, lang)
	}
	body := rest[open+len("```"+lang+"\n"):]
	end := strings.Index(body, "```")
	if end < 0 {
		t.Fatalf("README.md's %s block is not closed", lang)
	}
	return body[:end]
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
