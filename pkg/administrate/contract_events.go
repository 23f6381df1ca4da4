package administrate

// The contract items of the events stage and the webhook intake (eventsync.go), kept
// apart from contract.go so that flows added in parallel do not edit one literal.
var eventsContract = map[string]bool{
	// An event read back: what the live tenant showed (May 2026) is proven.
	"Event.cancelledAt":          true,
	"Event.customFieldValues":    true,
	"Event.isSoldOut":            true,
	"Event.lmsStart":             true,
	"Event.lmsEnd":               true,
	"Event.location":             true,
	"Event.venue":                true,
	"Event.maxPlaces":            true,
	"Event.registrationDeadline": true,
	"Event.updatedAt":            true,
	"Event.staff":                true,
	"Event.staff(first)":         false, // [C] arguments
	"Event.remainingPlaces":      false, // [C]
	"Session.event":              true,
	"Session.location":           true,
	"Session.venue":              true,
	"Session.title":              true,
	"Session.staff":              false, // [I] what session.addStaff writes, read back
	"Session.staff(first)":       false,
	"Staff.contact":              false, // [C]
	"Staff.staffType":            false, // [C]
	"StaffConnection.edges":      false,
	"StaffConnection.pageInfo":   false,
	"StaffEdge.node":             false,
	// Webhook registration: the previous system created webhooks and listed types.
	"Mutation.webhooks":                     true,
	"WebhookMutations.create":               true,
	"WebhookMutations.create(input)":        true,
	"WebhookMutations.update":               true,
	"WebhookMutations.update(input)":        true,
	"WebhookMutateResponse.errors":          true,
	"WebhookMutateResponse.webhook":         true,
	"WebhookCreateInput.webhookTypeId":      true,
	"WebhookCreateInput.name":               true,
	"WebhookCreateInput.query":              true,
	"WebhookCreateInput.url":                true,
	"WebhookCreateInput.config":             true,
	"WebhookCreateInput.notificationEmails": true,
	"WebhookUpdateInput.webhookId":          true,
	"WebhookUpdateInput.name":               false,
	"WebhookUpdateInput.query":              false,
	"WebhookUpdateInput.url":                false,
	"WebhookUpdateInput.config":             false,
	"WebhookUpdateInput.notificationEmails": false,
	"WebhookUpdateInput.lifecycleState":     false,
	"Webhook.id":                            true,
	"Webhook.lifecycleState":                true,
	"Webhook.name":                          false, // [C]
	"Webhook.query":                         false,
	"Webhook.url":                           false,
	"Webhook.webhookType":                   false,
	"Query.webhookTypes":                    true,
	"Query.webhookTypes(first)":             true,
	"Query.webhookTypes(offset)":            false,
	"WebhookTypeConnection.edges":           true,
	"WebhookTypeConnection.pageInfo":        false,
	"WebhookTypeEdge.node":                  true,
	"WebhookType.id":                        true,
	"WebhookType.name":                      true,
	"Query.webhooks":                        false, // [C]
	"Query.webhooks(first)":                 false,
	"Query.webhooks(offset)":                false,
	"WebhookConnection.edges":               false,
	"WebhookConnection.pageInfo":            false,
	"WebhookEdge.node":                      false,
}

func init() {
	for k, v := range eventsContract {
		contract[k] = v
	}
}
