module github.com/bolidemq/bolide/scripts/peerbench/natslat

go 1.26.0

require github.com/nats-io/nats.go v1.53.1

require (
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/nats-io/nkeys v0.4.15 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.49.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

require github.com/bolidemq/bolide v0.0.0

// The collector tuner both load generators share (internal/gcfloor).
replace github.com/bolidemq/bolide => ../../..
