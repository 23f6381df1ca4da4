// Package messaging is admsync's JetStream plumbing: the one place where
// streams, consumers, subjects and header names are declared (topology.go),
// a connect helper that reconnects forever, a handler runner that turns a
// handler's error into ack, delayed nak or dead letter, and the operator
// helpers that list, inspect, delete and replay dead letters.
//
// Delivery is at least once end to end: publishers dedupe with Nats-Msg-Id
// inside each stream's duplicate window, and handlers must be idempotent on
// their business key, because JetStream can deliver a message twice even after
// an ack (docs/architecture.md, "Exactly once", says how admsync copes).
//
// Services do not wire the runner by hand: pkg/service's Env.Serve does it
// for every `serve` command. Underneath, a consuming service amounts to:
//
//	nc, _ := messaging.Connect(ctx, natsURL, "admsync-admwriter", logger)
//	js, _ := jetstream.New(nc)
//	spec := messaging.AdmWriterConsumer()
//	topo := messaging.DefaultTopology().Only(messaging.StreamTutorialEvents,
//		messaging.StreamAdmResults, messaging.StreamDLQ)
//	_ = topo.Ensure(ctx, js)
//	r, _ := messaging.NewRunner(js, messaging.RunnerOptions{
//		Consumer:     spec,
//		Handler:      handle,       // nil, Permanent, Malformed, RetryAfter or another error
//		OnDeadLetter: markFailed,   // optional: record the service's own state
//		Workers:      4,
//		Gate:         breakerWait,  // optional: pause fetching while it returns an error
//		Logger:       logger,
//		Registerer:   reg,
//	})
//	mon, _ := messaging.NewMonitor(js, messaging.MonitorOptions{
//		Consumers: []messaging.ConsumerSpec{spec}, Registerer: reg})
//	go mon.Run(ctx)
//	err := r.Run(ctx) // returns after a graceful drain once ctx is cancelled
package messaging
