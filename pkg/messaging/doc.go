// Package messaging is admsync's JetStream plumbing: the one place where
// streams, consumers, subjects and header names are declared (topology.go),
// a connect helper that reconnects forever, a handler runner that turns a
// handler's error into ack, delayed nak or dead letter, and the operator
// helpers that list, inspect, delete and replay dead letters.
//
// Delivery is at least once end to end: publishers dedupe with Nats-Msg-Id
// inside each stream's duplicate window, and handlers must be idempotent on
// their business key, because JetStream can deliver a message twice even after
// an ack (reliability reference §1.3).
//
// Typical wiring of a consuming service:
//
//	nc, _ := messaging.Connect(ctx, cfg.NATSURL, "admwriter", logger)
//	js, _ := jetstream.New(nc)
//	_ = messaging.EnsureTopology(ctx, js)
//	r, _ := messaging.NewRunner(js, messaging.RunnerOptions{
//		Consumer: messaging.AdmWriterConsumer(),
//		Handler:  handle,
//		Workers:  4,
//		Gate:     breaker.Allow,
//		Logger:   logger,
//		Registerer: reg,
//	})
//	mon, _ := messaging.NewMonitor(js, messaging.MonitorOptions{
//		Consumers: []messaging.ConsumerSpec{messaging.AdmWriterConsumer()}, Registerer: reg})
//	go mon.Run(ctx)
//	err := r.Run(ctx) // returns after a graceful drain once ctx is cancelled
package messaging
