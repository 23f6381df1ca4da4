// Package natsauth is the NATS permission matrix of admsync: which subjects
// each service may publish and subscribe to. The Kubernetes NATS config and
// the tests are built from it, so a service that reaches outside its
// subjects is refused by the server, not just by convention.
package natsauth

import (
	"fmt"
	"sort"
	"strings"
)

// Permissions are the allow-lists of one NATS user.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// JetStream API subjects a service needs to bind a durable pull consumer of
// stream on consumer, fetch from it and acknowledge.
func consumerAPI(stream, consumer string) []string {
	return []string{
		"$JS.API.STREAM.INFO." + stream,
		"$JS.API.CONSUMER.INFO." + stream + "." + consumer,
		"$JS.API.CONSUMER.CREATE." + stream + "." + consumer + ".>",
		"$JS.API.CONSUMER.CREATE." + stream + "." + consumer,
		"$JS.API.CONSUMER.DURABLE.CREATE." + stream + "." + consumer,
		"$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer,
		"$JS.ACK." + stream + "." + consumer + ".>",
	}
}

// streamAPI lets a service declare (create or update) its own streams at
// start-up and read their state; never delete or purge them.
func streamAPI(streams ...string) []string {
	out := []string{"$JS.API.INFO"}
	for _, s := range streams {
		out = append(out, "$JS.API.STREAM.INFO."+s, "$JS.API.STREAM.CREATE."+s, "$JS.API.STREAM.UPDATE."+s)
	}
	return out
}

// objectGet lets a service read objects of a bucket (an ordered consumer on
// the bucket's stream).
func objectGet(bucket string) []string {
	s := "OBJ_" + bucket
	return []string{
		"$JS.API.STREAM.INFO." + s,
		"$JS.API.STREAM.MSG.GET." + s,
		"$JS.API.DIRECT.GET." + s + ".>",
		"$JS.API.CONSUMER.CREATE." + s + ".>",
		"$JS.API.CONSUMER.CREATE." + s,
		"$JS.API.CONSUMER.DELETE." + s + ".>",
	}
}

func join(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// Replies come back on the client's inbox.
var inbox = []string{"_INBOX.>"}

// Matrix maps each NATS user to its permissions.
var Matrix = map[string]Permissions{
	"importer": {
		Publish: join(
			[]string{"tutorial.event.created", "import.result.>"},
			streamAPI("TUTORIAL_EVENTS", "IMPORT_REQUESTS", "IMPORT_RESULTS"),
			consumerAPI("IMPORT_REQUESTS", "importer"),
			objectGet("workbooks"),
		),
		Subscribe: inbox,
	},
	"admwriter": {
		Publish: join(
			[]string{"adm.event.>", "dlq.tutorial.event.>", "tutorial.event.created"},
			streamAPI("TUTORIAL_EVENTS", "ADM_RESULTS", "DLQ"),
			consumerAPI("TUTORIAL_EVENTS", "admwriter"),
			// dlq list/show/replay read and remove dead letters.
			[]string{"$JS.API.STREAM.MSG.GET.DLQ", "$JS.API.STREAM.MSG.DELETE.DLQ", "$JS.API.DIRECT.GET.DLQ.>",
				"$JS.API.CONSUMER.CREATE.DLQ.>", "$JS.API.CONSUMER.CREATE.DLQ", "$JS.API.CONSUMER.DELETE.DLQ.>",
				"$JS.API.CONSUMER.INFO.TUTORIAL_EVENTS.admwriter"},
		),
		Subscribe: inbox,
	},
	"syncer": {
		Publish: join(
			[]string{"sync.result.>", "dlq.sync.request.>"},
			streamAPI("SYNC_REQUESTS", "SYNC_RESULTS", "DLQ"),
			consumerAPI("SYNC_REQUESTS", "syncer"),
		),
		Subscribe: inbox,
	},
	// operator is the NATS CLI of the people running admsync: trigger
	// syncs, hand over workbooks, watch results, inspect the DLQ. It cannot
	// delete or purge streams.
	"operator": {
		Publish: join(
			[]string{"sync.request.>", "import.request.>", "$JS.API.INFO", "$JS.API.STREAM.LIST", "$JS.API.STREAM.NAMES",
				"$JS.API.STREAM.INFO.>", "$JS.API.CONSUMER.INFO.>", "$JS.API.CONSUMER.LIST.>", "$JS.API.CONSUMER.NAMES.>",
				"$JS.API.STREAM.MSG.GET.>", "$JS.API.DIRECT.GET.>", "$JS.API.CONSUMER.CREATE.DLQ.>", "$JS.API.CONSUMER.CREATE.DLQ",
				"$JS.API.CONSUMER.CREATE.SYNC_RESULTS.>", "$JS.API.CONSUMER.CREATE.IMPORT_RESULTS.>", "$JS.API.CONSUMER.CREATE.ADM_RESULTS.>",
				"$JS.API.CONSUMER.CREATE.OBJ_workbooks.>", "$JS.API.CONSUMER.DELETE.>", "$JS.API.CONSUMER.MSG.NEXT.>",
				"$O.workbooks.>", "$JS.ACK.>"},
		),
		Subscribe: []string{"_INBOX.>", "sync.result.>", "import.result.>", "adm.event.>"},
	},
}

// Users returns the user names in a stable order.
func Users() []string {
	out := make([]string, 0, len(Matrix))
	for u := range Matrix {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// ServerConfig renders the `authorization` block of nats-server.conf with
// each user's password read from an environment variable of the NATS pod
// (NATS_<USER>_PASSWORD), so no password is written into the config.
func ServerConfig() string {
	var b strings.Builder
	b.WriteString("authorization {\n  users = [\n")
	for _, u := range Users() {
		p := Matrix[u]
		fmt.Fprintf(&b, "    { user: %q, password: $NATS_%s_PASSWORD, permissions: {\n", u, strings.ToUpper(u))
		fmt.Fprintf(&b, "        publish: { allow: [%s] }\n", quoteList(p.Publish))
		fmt.Fprintf(&b, "        subscribe: { allow: [%s] }\n", quoteList(p.Subscribe))
		b.WriteString("    } }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
