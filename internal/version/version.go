// Package version names the release this tree builds. Released workflow
// histories live in workflows/testdata/<Release>/ and are never rewritten; the
// releases a build must upgrade from are listed in workflows/testdata/RELEASES.
package version

// Release is the version of this tree. Bump it when the previous one is
// tagged, before recording new workflow histories (see CONTRIBUTING.md).
const Release = "v0.2.0"
