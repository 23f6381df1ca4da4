package administrate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// The contract: every schema element our operations use, and whether it is
// production-proven. Items are named
//
//	Type.field         an output field we select or call (Query.events, EventMutations.createBlended)
//	Type.field(arg)    an argument we pass
//	Input.field        an input field we may send (schema.graphql declares only those)
//	Enum.value         an enum value we send in a variable
//
// "Proven" means a live tenant showed it (introspection, May 2026) or the previous client
// sent or read it in production. Doctor checks every item against the tenant's schema by
// introspection before the first import; TestContractCoversEveryOperation fails when an
// operation uses an item this table does not classify, so nothing new slips in unjudged.
var contract = map[string]bool{
	// Reads: reference data.
	"Query.customFieldTemplate":                  true,
	"Query.customFieldTemplate(type)":            true,
	"CustomFieldTemplate.customFieldDefinitions": true,
	"CustomFieldDefinition.key":                  true,
	"CustomFieldDefinition.label":                true,
	"CustomFieldDefinition.description":          true,
	"CustomFieldDefinition.type":                 true,
	"CustomFieldDefinition.isRequired":           true,
	"CustomFieldDefinition.roles":                true,
	// The entity types whose custom fields the syncer reads (the previous client's list).
	"SupportsCustomField.Account":                         true,
	"SupportsCustomField.Achievement":                     true,
	"SupportsCustomField.Company":                         true,
	"SupportsCustomField.Contact":                         true,
	"SupportsCustomField.Content":                         true,
	"SupportsCustomField.Course":                          true,
	"SupportsCustomField.CourseTemplate":                  true,
	"SupportsCustomField.Event":                           true,
	"SupportsCustomField.Learner":                         true,
	"SupportsCustomField.LearningPath":                    true,
	"SupportsCustomField.LearningPathLearner":             true,
	"SupportsCustomField.Opportunity":                     true,
	"SupportsCustomField.OpportunityEventInterestLearner": true,
	"SupportsCustomField.OpportunityPassInterestLearner":  true,
	"SupportsCustomField.OpportunityPathInterestLearner":  true,
	"SupportsCustomField.Session":                         true,
	"SupportsCustomField.StockItem":                       true,
	"SupportsCustomField.TokenIssue":                      true,
	"Query.priceLevels":                                   true,
	"Query.priceLevels(first)":                            false, // queried unpaged in production
	"Query.priceLevels(offset)":                           false,
	"PriceLevelConnection.pageInfo":                       false,
	"PriceLevelConnection.edges":                          true,
	"PriceLevelEdge.node":                                 true,
	"PriceLevel.id":                                       true,
	"PriceLevel.name":                                     true,
	"PriceLevel.description":                              true,
	"Query.locations":                                     true,
	"Query.locations(first)":                              true,
	"Query.locations(offset)":                             true,
	"LocationConnection.pageInfo":                         true,
	"LocationConnection.edges":                            true,
	"LocationEdge.node":                                   true,
	"Location.id":                                         true,
	"Location.legacyId":                                   true,
	"Location.name":                                       true,
	"Location.code":                                       true,
	"Query.venues":                                        true,
	"Query.venues(first)":                                 true,
	"Query.venues(offset)":                                true,
	"VenueConnection.pageInfo":                            true,
	"VenueConnection.edges":                               true,
	"VenueEdge.node":                                      true,
	"Venue.id":                                            true,
	"Venue.legacyId":                                      false,
	"Venue.name":                                          true,
	"Venue.description":                                   true,
	"Venue.location":                                      true,
	"Query.contacts":                                      true,
	"Query.contacts(filters)":                             true,
	"Query.contacts(first)":                               true,
	"Query.contacts(offset)":                              true,
	"ContactConnection.pageInfo":                          true,
	"ContactConnection.edges":                             true,
	"ContactEdge.node":                                    true,
	"Contact.id":                                          true,
	"Contact.legacyId":                                    true,
	"Contact.firstName":                                   true,
	"Contact.lastName":                                    true,
	"ContactFieldGraphFilter.field":                       true,
	"ContactFieldGraphFilter.operation":                   true,
	"ContactFieldGraphFilter.value":                       true,
	"ContactFieldGraphFilter.values":                      false,
	"ContactField.isInstructor":                           true,
	"ContactField.isAdmin":                                false,
	"PageInfo.hasNextPage":                                true,
	"PageInfo.totalRecords":                               true,
	"Query.node":                                          true,
	"Node.id":                                             true,
	"Query.node(id)":                                      true,

	// Reads: course templates with their nested lists.
	"Query.courseTemplates":                      true,
	"Query.courseTemplates(first)":               true,
	"Query.courseTemplates(offset)":              true,
	"CourseTemplateConnection.pageInfo":          true,
	"CourseTemplateConnection.edges":             true,
	"CourseTemplateEdge.node":                    true,
	"CourseTemplate.id":                          true,
	"CourseTemplate.legacyId":                    false,
	"CourseTemplate.code":                        true,
	"CourseTemplate.title":                       true,
	"CourseTemplate.eventLearningMode":           true,
	"CourseTemplate.customFieldValues":           true,
	"CustomFieldValue.definitionKey":             true,
	"CustomFieldValue.value":                     true,
	"CourseTemplate.approvedInstructors":         true,
	"CourseTemplate.approvedInstructors(first)":  false, // queried unpaged in production
	"CourseTemplate.approvedInstructors(offset)": false,
	"CourseTemplate.publicPrices":                true,
	"CourseTemplate.publicPrices(first)":         false,
	"CourseTemplate.publicPrices(offset)":        false,
	"PriceConnection.pageInfo":                   false,
	"PriceConnection.edges":                      true,
	"PriceEdge.node":                             true,
	"Price.id":                                   true,
	"Price.amount":                               true,
	"Price.priceLevel":                           true,
	"Price.financialUnit":                        false,
	"Currency.id":                                true,
	"Currency.code":                              false,

	// Reads: our events, for reconcile.
	"Query.events":                    true,
	"Query.events(filters)":           true,
	"Query.events(first)":             true,
	"Query.events(offset)":            true,
	"EventConnection.pageInfo":        false,
	"EventConnection.edges":           true,
	"EventEdge.node":                  true,
	"EventFieldGraphFilter.field":     true,
	"EventFieldGraphFilter.operation": true,
	"EventFieldGraphFilter.value":     true,
	"EventFieldGraphFilter.values":    false,
	"EventField.title":                true,
	"Event.id":                        true,
	"Event.legacyId":                  true,
	"Event.title":                     true,
	"Event.lifecycleState":            true,
	"Event.courseTemplate":            true,
	"Event.sessions":                  true,
	"Event.sessions(first)":           false,
	"Event.sessions(offset)":          false,
	"SessionConnection.pageInfo":      false,
	"SessionConnection.edges":         true,
	"SessionEdge.node":                true,
	"Session.id":                      true,
	"Session.legacyId":                true,
	"FilterOperation.eq":              true,

	// Writes: events and sessions.
	"Mutation.event":                                   true,
	"EventMutations.createBlended":                     true,
	"EventMutations.createBlended(input)":              true,
	"BlendedEventCreateInput.courseTemplateId":         true,
	"BlendedEventCreateInput.title":                    true,
	"BlendedEventCreateInput.eventType":                true,
	"BlendedEventCreateInput.timeZoneName":             true,
	"BlendedEventCreateInput.locationId":               true,
	"BlendedEventCreateInput.venueId":                  true,
	"BlendedEventCreateInput.taxType":                  true,
	"BlendedEventCreateInput.maxPlaces":                true,
	"BlendedEventCreateInput.classroomStartDateTime":   true,
	"BlendedEventCreateInput.classroomEndDateTime":     true,
	"BlendedEventCreateInput.lmsStartDateTime":         true,
	"BlendedEventCreateInput.lmsEndDateTime":           true,
	"BlendedEventCreateInput.customFieldValues":        true,
	"CustomFieldValueInput.definitionKey":              true,
	"CustomFieldValueInput.value":                      true,
	"EventType.public":                                 true,
	"EventMutateResponse.event":                        true,
	"EventMutateResponse.errors":                       true,
	"FieldError.label":                                 true,
	"FieldError.message":                               true,
	"FieldError.value":                                 true,
	"EventMutations.createLMS":                         true,
	"EventMutations.createLMS(input)":                  true,
	"LMSEventCreateInput.courseTemplateId":             true,
	"LMSEventCreateInput.title":                        true,
	"LMSEventCreateInput.eventType":                    true,
	"LMSEventCreateInput.timeZoneName":                 true,
	"LMSEventCreateInput.locationId":                   true,
	"LMSEventCreateInput.taxType":                      true,
	"LMSEventCreateInput.maxPlaces":                    false,
	"LMSEventCreateInput.lmsStartDateTime":             true,
	"LMSEventCreateInput.lmsEndDateTime":               true,
	"LMSEventCreateInput.customFieldValues":            true,
	"EventMutations.createClassroom":                   false,
	"EventMutations.createClassroom(input)":            false,
	"ClassroomEventCreateInput.courseTemplateId":       false,
	"ClassroomEventCreateInput.title":                  false,
	"ClassroomEventCreateInput.eventType":              false,
	"ClassroomEventCreateInput.timeZoneName":           false,
	"ClassroomEventCreateInput.locationId":             false,
	"ClassroomEventCreateInput.venueId":                false,
	"ClassroomEventCreateInput.maxPlaces":              false,
	"ClassroomEventCreateInput.classroomStartDateTime": false,
	"ClassroomEventCreateInput.classroomEndDateTime":   false,
	"ClassroomEventCreateInput.customFieldValues":      false,
	"EventMutations.addStaff":                          true,
	"EventMutations.addStaff(input)":                   true,
	"EventStaffInput.eventId":                          true,
	"EventStaffInput.contactId":                        true,
	"EventStaffInput.staffType":                        true,
	"StaffType.administrator":                          true,
	"StaffType.instructor":                             true,
	"Mutation.session":                                 true,
	"SessionMutations.update":                          true,
	"SessionMutations.update(sessionId)":               true,
	"SessionMutations.update(input)":                   true,
	"SessionUpdateInput.title":                         true,
	"SessionUpdateInput.locationId":                    true,
	"SessionUpdateInput.venueId":                       true,
	"SessionUpdateInput.timeZoneName":                  true,
	"SessionUpdateInput.start":                         true,
	"SessionUpdateInput.end":                           true,
	"SessionUpdateInput.customFieldValues":             true,
	"SessionMutateResponse.session":                    true,
	"SessionMutateResponse.errors":                     true,
	"SessionMutations.addStaff":                        true,
	"SessionMutations.addStaff(input)":                 true,
	"SessionStaffInput.sessionId":                      true,
	"SessionStaffInput.contactIds":                     true,
	"SessionStaffInput.staffType":                      true,

	// Writes: reference data the syncer may create (all inferred).
	"Mutation.location":                           false,
	"LocationMutations.create":                    false,
	"LocationMutations.create(input)":             false,
	"LocationCreateInput.name":                    false,
	"LocationCreateInput.code":                    false,
	"LocationMutateResponse.location":             false,
	"LocationMutateResponse.errors":               false,
	"Mutation.venue":                              false,
	"VenueMutations.create":                       false,
	"VenueMutations.create(input)":                false,
	"VenueCreateInput.name":                       false,
	"VenueCreateInput.locationId":                 false,
	"VenueCreateInput.description":                false,
	"VenueMutateResponse.venue":                   false,
	"VenueMutateResponse.errors":                  false,
	"Mutation.courseTemplate":                     true,
	"CourseTemplateMutations.create":              false,
	"CourseTemplateMutations.create(input)":       false,
	"CourseTemplateCreateInput.code":              false,
	"CourseTemplateCreateInput.title":             false,
	"CourseTemplateMutateResponse.courseTemplate": false,
	"CourseTemplateMutateResponse.errors":         false,
	// Corrections by re-import: read an event's correctable state, update it, remove staff.
	"Event.maxPlaces":                    true,
	"Event.location":                     true,
	"Event.venue":                        true,
	"Event.customFieldValues":            true,
	"Event.staff":                        true,
	"Event.staff(first)":                 false,
	"StaffConnection.pageInfo":           false,
	"StaffConnection.edges":              false,
	"StaffEdge.node":                     false,
	"Staff.id":                           false,
	"Staff.staffType":                    false,
	"Staff.contact":                      false,
	"Session.staff":                      false,
	"Session.staff(first)":               false,
	"EventMutations.update":              true, // sold out and web sale went through it in production
	"EventMutations.update(eventId)":     true,
	"EventMutations.update(input)":       true,
	"EventUpdateInput.customFieldValues": true,
	"EventUpdateInput.title":             false,
	"EventUpdateInput.locationId":        false,
	"EventUpdateInput.venueId":           false,
	"EventUpdateInput.maxPlaces":         false,
	"EventMutations.removeStaff":         false,
	"EventMutations.removeStaff(input)":  false,
	"EventRemoveStaffInput.staffId":      false,
	"EventRemoveStaffInput.notifyStaff":  false,
	"ErrorsOnlyResponse.errors":          false,

	// Event lifecycle after an import (admwriter events …): production-proven are sold
	// out, web sale (both event.update), addPrices, delete, the active-currency read and
	// the events-by-sitting-and-state list; publish (lifecycleState) is documented.
	"Event.isSoldOut":                     true,
	"EventField.lifecycleState":           true,
	"EventField.id":                       false,
	"FilterOperation.wordlike":            true,
	"FilterOperation.in":                  false,
	"EventUpdateInput.isSoldOut":          true,
	"EventUpdateInput.lifecycleState":     false,
	"EventLifecycleState.published":       false,
	"EventMutations.addPrices":            true,
	"EventMutations.addPrices(input)":     true,
	"EventAddPricesInput.eventId":         true,
	"EventAddPricesInput.priceLevelId":    true,
	"EventAddPricesInput.financialUnitId": true,
	"EventAddPricesInput.amount":          true,
	"PricesMutateResponse.prices":         true,
	"PricesMutateResponse.errors":         true,
	"EventMutations.delete":               true,
	"EventMutations.delete(input)":        true,
	"EventDeleteInput.eventIds":           true,
	"Query.currencies":                    true,
	"Query.currencies(filters)":           true,
	"Query.currencies(first)":             false,
	"Query.currencies(offset)":            false,
	"CurrencyConnection.pageInfo":         false,
	"CurrencyConnection.edges":            true,
	"CurrencyEdge.node":                   true,
	"Currency.name":                       false,
	"Currency.isActive":                   true,
	"CurrencyFieldGraphFilter.field":      true,
	"CurrencyFieldGraphFilter.operation":  true,
	"CurrencyFieldGraphFilter.value":      true,
	"CurrencyFieldGraphFilter.values":     false,
	"CurrencyField.isActive":              true,

	// Writes: an instructor's contact (FR-003), documented, never sent in production.
	"Mutation.contact":                  false,
	"ContactMutations.create":           false,
	"ContactMutations.create(input)":    false,
	"ContactCreateInput.personalName":   false,
	"ContactCreateInput.emailAddresses": false,
	"PersonalNameInput.firstName":       false,
	"PersonalNameInput.lastName":        false,
	"EmailAddressInput.usage":           false,
	"EmailAddressInput.address":         false,
	"EmailAddressUsage.primary":         false,
	"ContactMutateResponse.contact":     false,
	"ContactMutateResponse.errors":      false,
	"Contact.isInstructor":              false,
	"ContactField.firstName":            false,
	"ContactField.lastName":             false,
}

// ContractItem is one schema element our operations use.
type ContractItem struct {
	Path       string   // Type.field, Type.field(arg), Input.field or Enum.value
	Proven     bool     // production-proven
	Operations []string // the operations that use it (empty for enum values)
}

// Contract returns every classified item, sorted by path. Operations is empty only if
// the embedded operations do not validate against schema.graphql (a build defect that
// TestContractCoversEveryOperation and Doctor report).
func Contract() []ContractItem {
	used, _ := usedItems()
	out := make([]ContractItem, 0, len(contract))
	for p, proven := range contract {
		users := slices.Clone(used[p])
		if len(users) == 0 {
			users = enumUsers(p, used) // an enum value is sent inside a variable
		}
		out = append(out, ContractItem{Path: p, Proven: proven, Operations: users})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// ourSchema is schema.graphql parsed, or nil if it does not load (usedItems reports why).
// Both are computed once: they depend only on embedded files. Callers must not modify
// the results.
var ourSchema = sync.OnceValue(func() *ast.Schema {
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: SchemaSDL})
	if err != nil {
		return nil
	}
	return s
})

// usedItems walks every exported operation against schema.graphql and names the
// fields, arguments and input fields it uses, with the operations using each.
var usedItems = sync.OnceValues(walkOperations)

func walkOperations() (map[string][]string, error) {
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: SchemaSDL})
	if gerr != nil {
		return nil, fmt.Errorf("contract: schema.graphql: %w", gerr)
	}
	ops, err := ourOperations()
	if err != nil {
		return nil, err
	}
	used := map[string][]string{}
	add := func(item, op string) {
		for _, o := range used[item] {
			if o == op {
				return
			}
		}
		used[item] = append(used[item], op)
	}
	for _, op := range ops {
		doc, errs := gqlparser.LoadQuery(schema, op.Query)
		if len(errs) > 0 {
			return nil, fmt.Errorf("contract: operation %s does not validate against schema.graphql: %v", op.OperationName, errs)
		}
		for _, o := range doc.Operations {
			for _, v := range o.VariableDefinitions {
				walkInput(schema, v.Type.Name(), map[string]bool{}, func(item string) { add(item, op.OperationName) })
			}
			walkSelection(o.SelectionSet, func(item string) { add(item, op.OperationName) })
		}
	}
	return used, nil
}

func walkSelection(set ast.SelectionSet, add func(string)) {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			parent := s.ObjectDefinition.Name
			add(parent + "." + s.Name)
			for _, a := range s.Arguments {
				add(parent + "." + s.Name + "(" + a.Name + ")")
			}
			walkSelection(s.SelectionSet, add)
		case *ast.InlineFragment:
			walkSelection(s.SelectionSet, add)
		case *ast.FragmentSpread:
			walkSelection(s.Definition.SelectionSet, add)
		}
	}
}

// walkInput names every field of an input type, recursively: schema.graphql declares
// only the input fields we may send.
func walkInput(schema *ast.Schema, name string, seen map[string]bool, add func(string)) {
	def := schema.Types[name]
	if def == nil || def.Kind != ast.InputObject || seen[name] {
		return
	}
	seen[name] = true
	for _, f := range def.Fields {
		add(name + "." + f.Name)
		walkInput(schema, f.Type.Name(), seen, add)
	}
}
