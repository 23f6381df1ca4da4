// Package pkg holds the shared code of admsync; each concern lives in its own sub-package.
package pkg
