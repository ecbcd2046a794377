//go:build !(wasip1 && wasm)

package sdk

import (
	"embed"
	"io/fs"
)

// sources are this SDK's own files and the AssemblyScript SDK's, for
// `hookgate plugin new`, which writes them into a new plugin project so it
// builds offline against exactly the SDK its hookgate binary was built
// with. Plugin builds (wasip1) leave them out.
//
//go:embed *.go abi/*.go ABI.md assemblyscript/package.json assemblyscript/README.md assemblyscript/assembly/*.ts
var sources embed.FS

// Sources returns the SDK sources: the Go SDK's files at the root and its
// abi/ package (tests included; callers skip *_test.go) and the AssemblyScript package under
// assemblyscript/ (package.json, README.md, assembly/*.ts).
func Sources() fs.FS { return sources }
