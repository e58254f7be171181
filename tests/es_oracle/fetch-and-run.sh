#!/usr/bin/env bash
# Runs Elasticsearch's own ES|QL test cases through lakehunt (see README.md).
#   tests/es_oracle/fetch-and-run.sh [REF] [--show]
# Needs git, network, and python3 with pyarrow. Fetches only the test
# fixtures folder of elastic/elasticsearch at REF (default main) into
# target/es-oracle/ (once: remove that folder to fetch another REF), and
# uses target/debug/lakehunt (build it first).
set -euo pipefail
cd "$(dirname "$0")/../.."
ref=main
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  ref="$1"
  shift
fi
work=target/es-oracle
fixtures=x-pack/plugin/esql/qa/testFixtures/src/main/resources
if [ ! -d "$work/es/.git" ]; then
  git clone --quiet --depth 1 --filter=blob:none --sparse --branch "$ref" \
    https://github.com/elastic/elasticsearch.git "$work/es"
  git -C "$work/es" sparse-checkout set "$fixtures"
fi
python3 tests/es_oracle/extract.py "$work/es/$fixtures" "$work/cases.json"
python3 tests/es_oracle/make_employees.py "$work/es/$fixtures/data/employees.csv" "$work/employees.parquet"
# The lookup indexes and the enrich policy the cases name (the policy's
# source index keeps language_code as a keyword).
mkdir -p "$work/lookups"
data="$work/es/$fixtures/data"
python3 tests/es_oracle/make_employees.py "$data/languages.csv" "$work/lookups/languages_lookup.parquet"
python3 tests/es_oracle/make_employees.py "$data/languages_non_unique_key.csv" \
  "$work/lookups/languages_lookup_non_unique_key.parquet"
sed '1s/language_code:integer/language_code:keyword/' "$data/languages.csv" > "$work/languages_policy.csv"
python3 tests/es_oracle/make_employees.py "$work/languages_policy.csv" "$work/lookups/languages_policy.parquet"
python3 tests/es_oracle/run.py "$work/cases.json" "$work/employees.parquet" --lookups "$work/lookups" "$@"
