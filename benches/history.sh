#!/usr/bin/env bash
# Benchmark of the history page (issue 23; not part of the test suite): the page of 500
# evaluations x 30 SLIs loaded in headless Chromium (target < 1 s, < 2 MB), and `history report`
# reading 10,000 evaluations (target < 1 s). Needs chromium (tests/run.sh installs it).
# Usage: benches/history.sh     Results: docs/history.md, "Speed".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --locked --test cli -- --ignored --nocapture --exact \
  history_page::bench_history_page_and_store 2>&1 | grep -E "^(page|history report)"
