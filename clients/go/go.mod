module github.com/ksps-dev/ksps/clients/go

go 1.23

require github.com/coder/websocket v1.8.15
