package ksps_test

import (
	"io"
	"net"
	"sync"
	"testing"
)

// freezableProxy forwards TCP connections to a target; freeze stops forwarding on the current
// connections without closing them, which makes them half-open as seen from the client.
type freezableProxy struct {
	listener net.Listener
	target   string
	done     chan struct{} // closed by close
	mu       sync.Mutex
	frozen   []chan struct{}
	conns    []net.Conn
	down     bool // new connections are closed at once
}

func newFreezableProxy(t *testing.T, target string) *freezableProxy {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezableProxy{listener: listener, target: target, done: make(chan struct{})}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *freezableProxy) address() string { return p.listener.Addr().String() }

func (p *freezableProxy) serve() {
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		frozen := make(chan struct{})
		p.mu.Lock()
		p.frozen = append(p.frozen, frozen)
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		go p.pipe(client, server, frozen)
		go p.pipe(server, client, frozen)
	}
}

// pipe copies until frozen, then stops reading and writing altogether until the proxy closes.
func (p *freezableProxy) pipe(from, to net.Conn, frozen chan struct{}) {
	buf := make([]byte, 32*1024)
	for {
		n, err := from.Read(buf)
		select {
		case <-frozen:
			<-p.done // the connection is half-open until the test ends
			return
		default:
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = to.Close()
			}
			return
		}
	}
}

func (p *freezableProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, frozen := range p.frozen {
		close(frozen)
	}
	p.frozen = nil
}

// cut closes the current connections, and every new one until resume: the client loses its
// connection and cannot come back while the server runs on.
func (p *freezableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, conn := range p.conns {
		_ = conn.Close()
	}
	p.conns, p.frozen = nil, nil
}

// resume lets new connections through again.
func (p *freezableProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *freezableProxy) close() {
	close(p.done)
	_ = p.listener.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, conn := range p.conns {
		_ = conn.Close()
	}
}
