package syncer

import (
	"sort"

	"admsync/pkg/match"
)

// item is one record on either side of a match: its id (tutorial primary key
// or Administrate id), its comparison key ("" = cannot be matched) and what a
// person reading the report needs to recognise it.
type item struct {
	ID    string
	Key   string
	Label string
	Note  string // why it cannot match, when that is known
	// wasGone says the tutorial record was linked to an Administrate record
	// that Administrate no longer returns.
	wasGone bool
}

// ambiguity is a key that several records share on one side or the other;
// none of them is linked until a person resolves it.
type ambiguity struct {
	Key          string
	Tutorial     []item
	Administrate []item
}

// matchResult is the outcome of matching one stage's records.
type matchResult struct {
	links                 map[string]string // Administrate id -> tutorial id
	unmatchedTutorial     []item
	unmatchedAdministrate []item
	ambiguous             []ambiguity
	ambiguousIDs          map[string]bool // Administrate ids left unlinked as ambiguous
}

// matchKey is the normalisation shared with the importer (trim, collapse
// inner whitespace, Unicode case fold).
func matchKey(s string) string { return match.Key(s) }

// compositeKey joins normalised parts; "" when any part is empty, so a record
// missing part of its key never matches.
func compositeKey(parts ...string) string {
	out := ""
	for i, p := range parts {
		if p == "" {
			return ""
		}
		if i > 0 {
			out += "\x1f"
		}
		out += p
	}
	return out
}

// matchRecords links Administrate records to active tutorial records with the
// same key. A key held by more than one record on either side is ambiguous:
// nothing under it is linked (never last-wins). inactive tutorial records
// never link; they only explain why an Administrate record did not.
func matchRecords(active, inactive, adm []item) matchResult {
	res := matchResult{links: map[string]string{}, ambiguousIDs: map[string]bool{}}
	tut := map[string][]item{}
	for _, t := range active {
		if t.Key == "" {
			res.unmatchedTutorial = append(res.unmatchedTutorial, t)
			continue
		}
		tut[t.Key] = append(tut[t.Key], t)
	}
	api := map[string][]item{}
	var keys []string
	for _, a := range adm {
		if a.Key == "" {
			res.unmatchedAdministrate = append(res.unmatchedAdministrate, a)
			continue
		}
		if _, seen := api[a.Key]; !seen {
			keys = append(keys, a.Key)
		}
		api[a.Key] = append(api[a.Key], a)
	}
	inact := map[string]item{}
	for _, t := range inactive {
		if t.Key != "" {
			inact[t.Key] = t
		}
	}
	ambiguousKey := map[string]bool{}
	for _, k := range keys {
		as, ts := api[k], tut[k]
		switch {
		case len(as) > 1 || len(ts) > 1:
			ambiguousKey[k] = true
			res.ambiguous = append(res.ambiguous, ambiguity{Key: k, Tutorial: ts, Administrate: as})
			for _, a := range as {
				res.ambiguousIDs[a.ID] = true
			}
		case len(ts) == 1:
			res.links[as[0].ID] = ts[0].ID
		default:
			a := as[0]
			if t, ok := inact[k]; ok && a.Note == "" {
				a.Note = "its tutorial match " + t.Label + " (#" + t.ID + ") is inactive"
			}
			res.unmatchedAdministrate = append(res.unmatchedAdministrate, a)
		}
	}
	// Tutorial keys with no Administrate record at all: unmatched, or
	// ambiguous when the tutorial side itself holds duplicates.
	var tkeys []string
	for k := range tut {
		if _, ok := api[k]; !ok {
			tkeys = append(tkeys, k)
		}
	}
	sort.Strings(tkeys)
	for _, k := range tkeys {
		ts := tut[k]
		if len(ts) > 1 {
			res.ambiguous = append(res.ambiguous, ambiguity{Key: k, Tutorial: ts})
			continue
		}
		res.unmatchedTutorial = append(res.unmatchedTutorial, ts[0])
	}
	sortItems(res.unmatchedTutorial)
	sortItems(res.unmatchedAdministrate)
	sort.Slice(res.ambiguous, func(i, j int) bool { return res.ambiguous[i].Key < res.ambiguous[j].Key })
	return res
}

func sortItems(s []item) {
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Label != s[j].Label {
			return s[i].Label < s[j].Label
		}
		return s[i].ID < s[j].ID
	})
}
