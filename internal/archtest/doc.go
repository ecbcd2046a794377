// Package archtest holds no code: its test checks the import rules of the
// module's architecture (see imports_test.go and the README's layout).
package archtest
