# SPDX-License-Identifier: MIT
# Sourced by the shell tests: locations and small helpers.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# A scratch directory removed on exit.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cse-test.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT
