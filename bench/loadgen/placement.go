package main

// Placement across the processes of one port (`ksps serve --workers N`, SO_REUSEPORT): the kernel, not the
// client, picks the worker that accepts a connection (a hash of the address pair), and nothing in the protocol
// says which worker answered. The server's side of a loopback connection is a socket in one worker's
// descriptor table, though, so the load generator looks it up: the connection's address pair in
// /proc/net/tcp gives the socket's inode, and the worker whose /proc/PID/fd links to `socket:[inode]` holds it.
// A scenario that needs two ends on different workers dials until the kernel puts one there.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// pidList is a flag holding comma-separated process IDs.
type pidList []int

func (p *pidList) String() string {
	parts := make([]string, len(*p))
	for i, pid := range *p {
		parts[i] = strconv.Itoa(pid)
	}
	return strings.Join(parts, ",")
}

func (p *pidList) Set(value string) error {
	for _, part := range strings.Split(value, ",") {
		if part == "" {
			continue
		}
		pid, err := strconv.Atoi(part)
		if err != nil {
			return fmt.Errorf("not a process ID: %q", part)
		}
		*p = append(*p, pid)
	}
	return nil
}

// owner returns the process among pids that holds the server's side of conn.
func (c *Conn) owner(pids []int) (int, error) {
	local, ok1 := c.ws.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.ws.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("not a TCP connection")
	}
	// The server's side: its local port is our remote one and the other way round.
	inode, err := socketInode(remote.Port, local.Port)
	if err != nil {
		return 0, err
	}
	link := "socket:[" + inode + "]"
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // a process that exited, or one we may not read: not the owner
		}
		for _, entry := range entries {
			if target, err := os.Readlink(dir + "/" + entry.Name()); err == nil && target == link {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no process of %v holds the server side of %s", pids, c.ws.LocalAddr())
}

// socketInode finds the loopback TCP socket with that local and remote port in /proc/net/tcp.
func socketInode(localPort, remotePort int) (string, error) {
	want := fmt.Sprintf(":%04X", localPort)
	wantRemote := fmt.Sprintf(":%04X", remotePort)
	file, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", err
	}
	defer file.Close()
	lines := bufio.NewScanner(file)
	for lines.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
		fields := strings.Fields(lines.Text())
		if len(fields) > 9 && strings.HasSuffix(fields[1], want) && strings.HasSuffix(fields[2], wantRemote) {
			return fields[9], nil
		}
	}
	return "", fmt.Errorf("no socket 127.0.0.1:%d <- :%d in /proc/net/tcp", localPort, remotePort)
}

// placement is what the load generator learnt about where the kernel put its connections.
type placement struct {
	pids   []int
	landed map[int]int // owner pid -> connections the kernel gave it
	dialed int
}

func newPlacement(pids []int) *placement { return &placement{pids: pids, landed: map[int]int{}} }

// dialAway dials url until the connection's server side is held by a process other than avoid (or, with
// avoid 0, returns the first connection); every connection tried counts in the share.
func (p *placement) dialAway(url string, avoid int, timeout time.Duration) (*Conn, int, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		conn, err := dial(url, 16384, timeout)
		if err != nil {
			return nil, 0, err
		}
		pid, err := conn.owner(p.pids)
		if err != nil {
			conn.Close()
			return nil, 0, err
		}
		p.dialed++
		p.landed[pid]++
		if pid != avoid {
			return conn, pid, nil
		}
		conn.Close() // the same worker as the other end: try again
	}
	return nil, 0, fmt.Errorf("after %d connections in %s, none landed outside process %d (%v)",
		p.dialed, timeout, avoid, p.landed)
}

// report is the placement for the "ready" line: how many connections were dialed and the share each process
// was given (the kernel's choice, over every connection tried).
func (p *placement) report() map[string]any {
	share := map[string]float64{}
	for pid, n := range p.landed {
		share[strconv.Itoa(pid)] = float64(n) / float64(p.dialed)
	}
	return map[string]any{"dialed": p.dialed, "share": share}
}

// probe dials n connections, notes which process the kernel gave each, and closes them: the share a client
// gets of each worker when it cannot choose.
func (p *placement) probe(url string, n int, timeout time.Duration) error {
	for i := 0; i < n; i++ {
		conn, err := dial(url, 4096, timeout)
		if err != nil {
			return err
		}
		pid, err := conn.owner(p.pids)
		conn.Close()
		if err != nil {
			return err
		}
		p.dialed++
		p.landed[pid]++
	}
	return nil
}
