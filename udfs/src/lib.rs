//! lakehunt's SQL functions for Apache `DataFusion`.
//!
//! Security functions with ES|QL's exact meaning, so hunts written for
//! Elasticsearch give the same answers over Parquet:
//!
//! - [`cidr_match`](cidr_match::CidrMatch) (`CIDR_MATCH`): is an IP in any of the blocks;
//! - [`ip_is_global`](ip_is_global::IpIsGlobal): is an IP globally routable unicast (IANA registries);
//! - [`ip_to_string`](ip_to_string::IpToString): an IP stored as bytes, as ECS text;
//! - [`ip_leading_zeros`]: IPv4 text with leading zeros read as decimal or octal (`TO_IP`'s option);
//! - [`mv_single`](mv_single::MvSingle): a multi-valued field as ES|QL's `==` sees it;
//! - [`mv_count`](mv_count::MvCount): how many values a field holds;
//! - [`esql_match`](esql_match::EsqlMatch): ES|QL's full-text `MATCH`, by the field's kind;
//! - [`esql_replace`](esql_replace::EsqlReplace): ES|QL's `REPLACE`, with Java's replacement rules;
//! - [`esql_captures`](esql_captures::EsqlCaptures): a regex's capture groups, NULL where one takes no part (GROK, DISSECT);
//! - [`esql_fmt`](esql_format): ES|QL's `FMT_BYTES`, `FMT_BYTES_SI`, `FMT_DURATION` and `FMT_PERCENT`;
//! - [`to_base64` and `sha1`](esql_text::TextFunction): ES|QL's `TO_BASE64` and `SHA1`;
//!   [`java_double_string`](esql_text::JavaDoubleString) and
//!   [`esql_boolean_list`](esql_text::BooleanList): `TO_STRING` of a double and
//!   `TO_BOOLEAN` of a list;
//! - [`esql_date_parse`, `ip_prefix`, `ip_key`, `esql_to_datetime`](esql_parse::Parse):
//!   ES|QL's `DATE_PARSE`, `IP_PREFIX`, IPs in Elasticsearch's order, and
//!   `TO_DATETIME` of text and lists;
//! - [`mv_sum_exact`, `mv_median`, `mv_mad`, `mv_variance`, `mv_pseries`](mv_stats::ListStat): statistics
//!   over one row's list of numbers, as ES|QL's multi-value functions compute them;
//! - [`checked_sum`](checked_sum::CheckedSum), an aggregate: an exact `BIGINT` sum that fails
//!   rather than wraps, as ES|QL's `SUM` on a long does;
//! - [`esql_count_distinct`](count_distinct), an aggregate: ES|QL's `COUNT_DISTINCT`, by
//!   64-bit hashes of the values, with a groups accumulator.
//!
//! The crate depends on `DataFusion` only, never on the engine, so the functions can
//! be registered in any `SessionContext`:
//!
//! ```
//! let mut ctx = datafusion::prelude::SessionContext::new();
//! lakehunt_udfs::register_all(&mut ctx).unwrap();
//! ```
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

pub mod checked_sum;
pub mod cidr_match;
pub mod common;
pub mod count_distinct;
pub mod dates;
pub mod enrich_range;
pub mod esql_captures;
pub mod esql_format;
pub mod esql_match;
pub mod esql_parse;
pub mod esql_replace;
pub mod esql_text;
pub mod esql_warnings;
pub mod from_base64;
pub mod ip;
pub mod ip_is_global;
pub mod ip_leading_zeros;
pub mod ip_to_string;
pub mod mv_count;
pub mod mv_lookup;
pub mod mv_single;
pub mod mv_stats;
pub mod mv_zip;
pub mod typed_sort;
pub mod version;

/// Every scalar function of this crate.
#[must_use]
pub fn all_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        cidr_match::cidr_match_udf(),
        ip_is_global::ip_is_global_udf(),
        ip_to_string::ip_to_string_udf(),
        ip_to_string::ip_text_udf(),
        ip_leading_zeros::ip_leading_zeros_udf(),
        ip_leading_zeros::ip_values_udf(),
        mv_single::mv_single_udf(),
        mv_count::mv_count_udf(),
        from_base64::from_base64_udf(),
        esql_match::esql_match_udf(),
        esql_replace::esql_replace_udf(),
        esql_captures::esql_captures_udf(),
        esql_format::esql_fmt_udf(),
        esql_text::to_base64_udf(),
        esql_text::sha1_udf(),
        esql_text::java_double_string_udf(),
        esql_text::boolean_list_udf(),
        mv_stats::mv_sum_exact_udf(),
        mv_stats::mv_median_udf(),
        mv_stats::mv_mad_udf(),
        mv_stats::mv_variance_udf(),
        mv_stats::mv_pseries_udf(),
        mv_stats::mv_percentile_udf(),
        mv_stats::esql_percentile_udf(),
        mv_stats::mv_median_absolute_deviation_udf(),
        mv_zip::mv_zip_udf(),
        mv_lookup::mv_lookup_udf(),
        mv_lookup::mv_lookup_rows_udf(),
        mv_lookup::enrich_lookup_udf(),
        version::version_key_udf(),
        typed_sort::sort_as_udf(),
        esql_parse::date_parse_udf(),
        esql_parse::ip_prefix_udf(),
        esql_parse::ip_key_udf(),
        esql_parse::to_datetime_udf(),
        dates::date_trunc_udf(),
        dates::date_part_udf(),
        dates::to_char_udf(),
    ]
}

/// Every aggregate function of this crate.
#[must_use]
pub fn all_udafs() -> Vec<Arc<AggregateUDF>> {
    vec![
        checked_sum::checked_sum_udaf(),
        count_distinct::count_distinct_udaf(),
    ]
}

/// Registers every function of this crate, with its aliases.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for udf in all_udfs() {
        registry.register_udf(udf)?;
    }
    for udaf in all_udafs() {
        registry.register_udaf(udaf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_two_functions_or_aliases_share_a_name() {
        let mut seen = HashSet::new();
        let names = all_udfs()
            .iter()
            .flat_map(|f| std::iter::once(f.name().to_owned()).chain(f.aliases().iter().cloned()))
            .chain(all_udafs().iter().flat_map(|f| {
                std::iter::once(f.name().to_owned()).chain(f.aliases().iter().cloned())
            }))
            .collect::<Vec<_>>();
        for name in names {
            assert!(seen.insert(name.to_lowercase()), "duplicate name {name}");
        }
    }

    #[test]
    fn every_function_is_registered_lowercase() {
        for udf in all_udfs() {
            assert_eq!(udf.name(), udf.name().to_lowercase());
        }
        for udaf in all_udafs() {
            assert_eq!(udaf.name(), udaf.name().to_lowercase());
        }
    }
}
