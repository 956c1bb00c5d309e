#!/usr/bin/env bash
# Every tracked C source and header follows the repository's .clang-format.
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/lib.sh
if ! command -v clang-format >/dev/null || ! git rev-parse --git-dir >/dev/null 2>&1; then
	skip clang_format "needs clang-format and a git checkout"
	finish
fi
if out=$(make -s format-check 2>&1); then
	pass clang_format
else
	fail clang_format "$(echo "$out" | grep -E '^[^ ].*error' | head -5)"
fi
finish
