// Package test holds what spans the services: the demo driver, the NATS CLI
// runbook tests and the fault-injection (chaos) runs. They drive the real
// binaries from bin/ against PostgreSQL, an embedded nats-server and the
// Administrate simulator.
package test
