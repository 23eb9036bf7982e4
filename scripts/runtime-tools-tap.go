// Package tap is a minimal reimplementation of github.com/mndrix/tap-go
// (the API used by runtime-tools), written for tsrun's offline harness.
package tap

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// T is a TAP producer.
type T struct {
	nextTestNumber int
	todo           bool
	Writer         io.Writer
}

// New starts a TAP stream on stdout.
func New() *T { return &T{nextTestNumber: 1, Writer: os.Stdout} }

func (t *T) printf(format string, a ...interface{}) { fmt.Fprintf(t.Writer, format, a...) }

// Header prints the TAP version and, if testCount > 0, the plan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok reports one test.
func (t *T) Ok(test bool, description string) {
	ok := "ok"
	if !test {
		ok = "not ok"
	}
	directive := ""
	if t.todo {
		directive = " # TODO"
	}
	t.printf("%s %d - %s%s\n", ok, t.nextTestNumber, description, directive)
	t.nextTestNumber++
}

// Fail reports a failed test.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Pass reports a passed test.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Check is unsupported (needs testing/quick); it fails loudly.
func (t *T) Check(function interface{}, description string) { t.Fail(description + " (Check unsupported)") }

// Count returns the number of tests reported so far.
func (t *T) Count() int { return t.nextTestNumber - 1 }

// AutoPlan prints the plan from the count.
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

// Todo returns a copy whose tests are TODO.
func (t *T) Todo() *T {
	n := *t
	n.todo = true
	return &n
}

// Skip reports count skipped tests.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", t.nextTestNumber, description)
		t.nextTestNumber++
	}
}

// Diagnostic prints a comment.
func (t *T) Diagnostic(message string) {
	t.printf("# %s\n", strings.Replace(strings.TrimSpace(message), "\n", "\n# ", -1))
}

// Diagnosticf prints a formatted comment.
func (t *T) Diagnosticf(format string, a ...interface{}) { t.Diagnostic(fmt.Sprintf(format, a...)) }

// YAML prints a YAML-ish block (JSON-ish rendering is enough for humans).
func (t *T) YAML(message interface{}) error {
	t.printf("  ---\n")
	switch m := message.(type) {
	case map[string]string:
		for k, v := range m {
			t.printf("  %s: %q\n", k, v)
		}
	case map[string]interface{}:
		for k, v := range m {
			t.printf("  %s: %s\n", k, strings.Replace(fmt.Sprintf("%+v", v), "\n", " ", -1))
		}
	case map[string]uint32:
		for k, v := range m {
			t.printf("  %s: %d\n", k, v)
		}
	default:
		t.printf("  %s\n", strings.Replace(fmt.Sprintf("%+v", m), "\n", "\n  ", -1))
	}
	t.printf("  ...\n")
	return nil
}
