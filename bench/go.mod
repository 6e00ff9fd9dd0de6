module github.com/ksps-dev/ksps/bench

go 1.24.3

require (
	// The load generator's WebSocket client: reads many small frames into a reused buffer and answers
	// the server's keepalive pings while it reads.
	github.com/gorilla/websocket v1.5.3
	// The original KSPS server, benchmarked as a target (bench/targets/ksmux).
	github.com/kamalshkeir/ksmux v0.9.5
)

require (
	github.com/kamalshkeir/kmap v1.1.8 // indirect
	github.com/kamalshkeir/kstrct v1.9.23 // indirect
	github.com/kamalshkeir/lg v0.1.4 // indirect
	golang.org/x/crypto v0.47.0 // indirect
	golang.org/x/net v0.49.0 // indirect
	golang.org/x/text v0.33.0 // indirect
	golang.org/x/time v0.14.0 // indirect
)
