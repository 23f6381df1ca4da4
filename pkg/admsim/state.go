package admsim

import (
	"sort"
	"sync"
	"time"

	"admsync/pkg/administrate"
)

// The records below are the simulator's own storage; resolvers turn them into gqlgen
// models on each request, so nothing a client receives aliases internal state.

type customFieldRec struct {
	key         int
	entityType  string
	label       string
	fieldType   string
	description string
	isRequired  bool
	roles       []string
}

type cfValue struct {
	defKey int
	value  string
}

type currencyRec struct {
	key        int
	code, name string
}

type priceLevelRec struct {
	key               int
	name, description string
}

type locationRec struct {
	key        int
	name, code string
}

type venueRec struct {
	key               int
	name, description string
	locationKey       int
}

type contactRec struct {
	key                   int
	firstName, lastName   string
	email                 string
	isInstructor, isAdmin bool
}

type priceRec struct {
	key           int
	priceLevelKey int
	currencyKey   int
	amount        administrate.Decimal
}

type courseTemplateRec struct {
	key            int
	code, title    string
	learningMode   string
	lifecycleState string
	sessionCount   int
	approved       []int // contact keys
	prices         []int // price keys
	customFields   []cfValue
}

type staffRec struct {
	key        int
	contactKey int
	staffType  string
}

type eventRec struct {
	key              int
	courseTmplKey    int
	title, code      string
	learningMode     string
	lifecycleState   string
	timeZone         string
	start, end       administrate.LocalDateTime
	lmsStart, lmsEnd administrate.LocalDateTime
	locationKey      int
	venueKey         int
	maxPlaces        int
	minPlaces        int
	customFields     []cfValue
	staff            []staffRec
	sessions         []int // session keys, in creation order
	createdAt        time.Time
	// Set by changes made in Administrate (the control endpoint, webhooks.go).
	isSoldOut   bool
	updatedAt   time.Time // stamped when a change is detected; zero: createdAt
	cancelledAt time.Time
	prices      []int // price keys (the event's own prices)
}

type sessionRec struct {
	key            int
	eventKey       int
	title          string
	lifecycleState string
	start, end     administrate.LocalDateTime
	locationKey    int
	venueKey       int
	customFields   []cfValue
	staff          []staffRec
	timeZone       string // "" = the event's
}

// state is the whole simulated tenant. One mutex guards it: the simulator serves tens of
// requests per second at most, and a single lock makes every mutation atomic.
type state struct {
	mu sync.Mutex

	next map[string]int // last key issued per id prefix

	customFields    map[int]*customFieldRec
	currencies      map[int]*currencyRec
	priceLevels     map[int]*priceLevelRec
	locations       map[int]*locationRec
	venues          map[int]*venueRec
	contacts        map[int]*contactRec
	prices          map[int]*priceRec
	courseTemplates map[int]*courseTemplateRec
	events          map[int]*eventRec
	sessions        map[int]*sessionRec
}

func newState() *state {
	return &state{
		next:            map[string]int{},
		customFields:    map[int]*customFieldRec{},
		currencies:      map[int]*currencyRec{},
		priceLevels:     map[int]*priceLevelRec{},
		locations:       map[int]*locationRec{},
		venues:          map[int]*venueRec{},
		contacts:        map[int]*contactRec{},
		prices:          map[int]*priceRec{},
		courseTemplates: map[int]*courseTemplateRec{},
		events:          map[int]*eventRec{},
		sessions:        map[int]*sessionRec{},
	}
}

// newKey issues the next key for prefix; caller holds mu.
func (st *state) newKey(prefix string) int {
	st.next[prefix]++
	return st.next[prefix]
}

// claimKey records an explicit key from a seed so later keys never collide with it.
func (st *state) claimKey(prefix string, key int) int {
	if key <= 0 {
		return st.newKey(prefix)
	}
	if key > st.next[prefix] {
		st.next[prefix] = key
	}
	return key
}

// sortedKeys returns the keys of m in ascending order: Administrate lists in a stable
// order and offset paging is only meaningful over one.
func sortedKeys[T any](m map[int]T) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

func ordered[T any](m map[int]*T) []*T {
	out := make([]*T, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}
