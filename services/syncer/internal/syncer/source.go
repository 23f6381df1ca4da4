package syncer

import "context"

// The records below are what a stage needs from Administrate, already flattened
// from the GraphQL shapes. Fetchers return every page or an error: a stage never
// works from part of a list, because anything missing would look deleted.

// Location is an Administrate location.
type Location struct {
	ID, LegacyID, Name, Code string
}

// Venue is an Administrate venue; LocationID is its parent location's id.
type Venue struct {
	ID, LegacyID, Name, Description, LocationID string
}

// Contact is an Administrate contact (instructor or administrator).
type Contact struct {
	ID, LegacyID, FirstName, LastName string
}

// PriceLevel is an Administrate price level.
type PriceLevel struct {
	ID, Name, Description string
}

// CustomFieldDefinition is one custom-field definition of an entity type.
type CustomFieldDefinition struct {
	Key, Label, Description, Type string
	IsRequired                    bool
	Roles                         []string
}

// CustomFieldValue is a course template's value for one definition.
type CustomFieldValue struct {
	DefinitionKey string
	Value         *string
}

// Price is a public price of a course template.
type Price struct {
	ID             string
	Amount         string // exact decimal text as Administrate sent it; "" when absent
	PriceLevelID   string
	PriceLevelName string
	Currency       string
}

// CourseTemplate is an Administrate course template with the nested lists the
// course-templates and course-template-price-levels stages mirror.
type CourseTemplate struct {
	ID, LegacyID, Code, Title string
	EventLearningMode         string
	CustomFields              []CustomFieldValue
	ApprovedInstructorIDs     []string
	Prices                    []Price
}

// Paging tells a fetcher how to page one list: the page size, how many pages
// may be in flight once the total is known, and whom to tell about each page.
type Paging struct {
	Size        int
	Concurrency int
	// OnPage is called after each page with the page's record count and the
	// records received so far; it may be nil. Calls are serialised.
	OnPage func(n, soFar int)
}

// CustomFieldSource fetches custom-field definitions, one entity type per call,
// so that one failing type leaves the others usable.
type CustomFieldSource interface {
	CustomFieldDefinitions(ctx context.Context, entityType string) ([]CustomFieldDefinition, error)
}

// PriceLevelSource fetches every price level.
type PriceLevelSource interface {
	PriceLevels(ctx context.Context, p Paging) ([]PriceLevel, error)
}

// LocationSource fetches every location.
type LocationSource interface {
	Locations(ctx context.Context, p Paging) ([]Location, error)
}

// VenueSource fetches every venue.
type VenueSource interface {
	Venues(ctx context.Context, p Paging) ([]Venue, error)
}

// ContactSource fetches instructor contacts and administrator contacts.
type ContactSource interface {
	Instructors(ctx context.Context, p Paging) ([]Contact, error)
	Administrators(ctx context.Context, p Paging) ([]Contact, error)
}

// CourseTemplateSource fetches every course template with its custom-field
// values, approved instructors and public prices (nested lists complete).
type CourseTemplateSource interface {
	CourseTemplates(ctx context.Context, p Paging) ([]CourseTemplate, error)
}

// Source is everything the stages read from Administrate.
type Source interface {
	CustomFieldSource
	PriceLevelSource
	LocationSource
	VenueSource
	ContactSource
	CourseTemplateSource
}

// Create operations the prompt phase may use. Their names are the ones
// `syncer doctor` reports.
const (
	OpCreateLocation       = "location.create"
	OpCreateVenue          = "venue.create"
	OpCreateCourseTemplate = "courseTemplate.create"
	OpCreateContact        = "contact.create"
)

// Creator creates records in Administrate for the prompt phase.
type Creator interface {
	// Supports reports whether the tenant offers a create operation (one of
	// the Op* names); an error means it could not be determined.
	Supports(ctx context.Context, op string) (bool, error)
	CreateLocation(ctx context.Context, name, code string) (Location, error)
	CreateVenue(ctx context.Context, name, description, locationID string) (Venue, error)
	CreateCourseTemplate(ctx context.Context, code, title string) (CourseTemplate, error)
	// CreateContact creates a contact; instructor reports whether
	// Administrate marked it as one (its API offers no way to ask).
	CreateContact(ctx context.Context, first, last string) (c Contact, instructor bool, err error)
	// ContactsNamed finds existing contacts with exactly this name.
	ContactsNamed(ctx context.Context, first, last string) ([]Contact, error)
}
