//! What lakehunt's ES|QL supports, construct by construct: the one table that
//! `docs/esql.md` is generated from.
//!
//! A test renders [`markdown`] and compares it with `docs/esql.md` (re-bless
//! with `LAKEHUNT_BLESS=1 cargo test --lib esql::support`), and checks that
//! every construct said to be tested names a `.slt` file that exists and
//! mentions it.

/// How far lakehunt supports a construct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Runs, with Elasticsearch's answers.
    Supported,
    /// Runs in the forms the notes say; other forms are refused by name.
    Partial,
    /// Refused with an error naming it and its `line:column`.
    Refused,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Supported => "supported",
            Status::Partial => "partial",
            Status::Refused => "refused",
        }
    }
}

/// One construct of the language.
#[derive(Clone, Copy, Debug)]
pub struct Construct {
    /// Section of the table: a source command, a processing command, an
    /// operator, a function family.
    pub kind: &'static str,
    /// The construct as written in a query (`MV_EXPAND`, `LIKE`, `DATE_TRUNC`).
    pub name: &'static str,
    /// How far it is supported.
    pub status: Status,
    /// How lakehunt's answer or behaviour differs from Elasticsearch's, or
    /// what is missing; empty when it does not.
    pub notes: &'static str,
    /// The `.slt` file under `tests/slt/` that tests it; empty when none does.
    pub tested_in: &'static str,
}

const fn c(
    kind: &'static str,
    name: &'static str,
    status: Status,
    notes: &'static str,
    tested_in: &'static str,
) -> Construct {
    Construct {
        kind,
        name,
        status,
        notes,
        tested_in,
    }
}

use Status::{Partial, Refused, Supported};

/// Every construct, grouped by kind, in the order `docs/esql.md` lists them.
pub const CONSTRUCTS: &[Construct] = &[
    c(
        "Settings",
        "SET unmapped_fields = \"nullify\"; (before the query)",
        Supported,
        "a field the query reads that the data lacks and no command makes is a NULL column (SUM of it is NULL), as Elasticsearch's technical preview; \"fail\" is the default; \"load\" refused; reads after a DISSECT, GROK, ENRICH or LOOKUP JOIN still fail as unknown",
        "esql/settings.slt",
    ),
    c(
        "Settings",
        "SET time_zone = \"...\";",
        Partial,
        "an offset (Z, UTC, +10, +10:00, -0530, UTC+1) or a named zone (Europe/Paris, with its daylight saving: a skipped local time moves later by the gap, a repeated one takes the earlier offset): DATE_TRUNC, BUCKET, DATE_EXTRACT, DATE_FORMAT (its zone letters write the offset as Java does, Z for a zero offset where the letter is X, in a named zone too, but there X and x always write the minutes, +0100 where Java writes +01; without a pattern, local time with it), DAY_NAME and MONTH_NAME work in local time; dates are still written in UTC (TO_STRING, output), and DATE_PARSE, DATE_DIFF and text read as a date stay in UTC; anything else refused (\"not a time zone\")",
        "esql/settings.slt",
    ),
    c(
        "Settings",
        "SET other settings",
        Refused,
        "\"unknown setting NAME\"; a SET without its ; refused",
        "esql/settings.slt",
    ),
    c(
        "Source command",
        "FROM pattern[, pattern...]",
        Supported,
        "patterns are not resolved: every pattern reads --data (or, with --index, the dataset given for exactly that pattern string)",
        "esql/semantics.slt",
    ),
    c(
        "Source command",
        "FROM over data without @timestamp",
        Supported,
        "lookup tables, inventories: every row visible whatever --as-of, NOW() still the as-of instant, and a warning (no_timestamp) saying so; a @timestamp that is not a time is refused",
        "esql/no_timestamp.slt",
    ),
    c(
        "Source command",
        "FROM \"quoted pattern\" and comments inside FROM",
        Supported,
        "Rust test: unit test from_patterns_skip_comments_and_quotes in src/esql/mod.rs",
        "",
    ),
    c(
        "Source command",
        "FROM ... METADATA _index",
        Supported,
        "_index is the pattern as written in FROM (with one --data, all patterns joined by commas), not the concrete backing index (.ds-logs-...-000001); data with its own _index column (an export lakehunt ingest kept it from) gives that instead",
        "esql/tier3.slt",
    ),
    c(
        "Source command",
        "FROM ... METADATA _id",
        Supported,
        "_id is the event's file and row there (/lake/part-0.parquet:1841), not an Elasticsearch document id, unless the data has its own _id column (lakehunt ingest keeps Elasticsearch's); also the table events_id in lakehunt sql; Rust tests: tests/it/esql.rs metadata_id_names_each_events_file_and_row, tests/it/ingest.rs an_export_in_every_shape_gives_the_samples_findings_and_events",
        "",
    ),
    c(
        "Source command",
        "FROM ... METADATA _score",
        Refused,
        "BM25 scores need the index's statistics; error \"METADATA _score is not supported\"",
        "esql/match.slt",
    ),
    c(
        "Source command",
        "FROM ... METADATA _version (any other field)",
        Refused,
        "error \"METADATA X is not supported yet (only _index and _id)\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Source command",
        "--index PATTERN=PATH (one dataset per pattern)",
        Supported,
        "lakehunt flag; matching is by exact pattern text; a wildcard pattern without --index reads nothing beside one that has data (as Elasticsearch's wildcards may match no index); otherwise a FROM pattern without --index is an error naming the ones given; a FROM sees its patterns' files' columns (another dataset's field is an unknown column, as an unmapped one in Elasticsearch); Rust tests: tests/it/cli.rs esql_index_flags_give_each_pattern_its_own_data, esql_index_patterns_see_their_own_datasets_columns",
        "",
    ),
    c(
        "Source command",
        "query not starting with FROM; FROM later in the query",
        Refused,
        "\"a query starts with FROM or ROW\" / \"FROM may only start the query\" (SHOW, TS as first command fall under the next line); Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Source command",
        "ROW name = value, ...",
        Supported,
        "one row of constants, no index and no --data needed; a name given twice keeps the later; ROW after the first command refused",
        "esql/row.slt",
    ),
    c(
        "Processing commands",
        "WHERE cond",
        Supported,
        "keeps only true (NULL drops the row), as Elasticsearch",
        "esql/semantics.slt",
    ),
    c(
        "Processing commands",
        "KEEP a, b, ab*, *",
        Supported,
        "wildcards with ES|QL's precedence: a name written out goes where it is written, a column only wildcards match goes where the last of them is; a repeat counts once; a wildcard matching nothing is an error",
        "esql/names.slt",
    ),
    c(
        "Processing commands",
        "DROP a, b, *_id",
        Supported,
        "wildcards; a repeat counts once; dropping every column leaves a table without columns, as Elasticsearch, which a later EVAL or STATS gives columns (a query that ends without a column is refused); DROP * is refused, as Elasticsearch refuses it",
        "esql/names.slt",
    ),
    c(
        "Processing commands",
        "RENAME old AS new, ...",
        Supported,
        "a column already named new is replaced; the pairs apply one after another, as the reference says (a AS b, b AS c leaves c holding a; of several renamed to one name the last is kept)",
        "esql/names.slt",
    ),
    c(
        "Processing commands",
        "RENAME new = old",
        Supported,
        "the newer form, the same meaning; the two forms mix in one command",
        "esql/names.slt",
    ),
    c(
        "Processing commands",
        "EVAL name = expr, ...",
        Supported,
        "a column of the same name is replaced (and moves last); each assignment may use the ones before it; assignments that read none of this EVAL's others share one projection, so hundreds in one EVAL plan in milliseconds; EVALs in a row are one EVAL (2,000 of them run); an EVAL that replaces the column the EVAL before it made, reading it once in arithmetic (+, -, *) of fields and numbers, is folded into it (a chain of 300 is one expression; each value still computed once a row); a plan nests at most 150 levels (a command each, a computed STATS key each, two more for a STATS over a ROW or after a LIMIT, any other EVAL that reads or replaces a column the one before it made one more)",
        "esql/semantics.slt",
    ),
    c(
        "Processing commands",
        "EVAL expr (unnamed, named by its own text)",
        Supported,
        "",
        "",
    ),
    c(
        "Processing commands",
        "STATS agg, ... BY field, ...",
        Supported,
        "a row whose BY key is multi-valued is in each distinct value's group, once, and its aggregates see all of its values (COUNT(x) BY x counts each of the row's values in each group, as Elasticsearch's grouping adds the whole block); no value is the NULL group; two multi-valued keys group every pair of their values, but a key that copies another (EVAL z = y, renamed or not, or BY z = y) is the same key, as Elasticsearch's optimizer makes the copy an alias; an aggregate named as a key is shadowed by the key, and a key by a later key of its name, which alone groups (BY x = a, x = b groups by b)",
        "esql/multivalued.slt",
    ),
    c(
        "Processing commands",
        "STATS groups' order without a SORT after it",
        Supported,
        "over a ROW or after a LIMIT, Elasticsearch's: one key gives the NULL group first (booleans NULL, false, true), then each group where first seen; several keys where first seen; a row's list key value by value, in its order (Elasticsearch sorts lists longer than 20 to 300 values first); the LIMIT's order is the SORT before it (a SORT with no LIMIT after it does not count, as Elasticsearch drops it); over an index without a LIMIT the order is the engine's, as over a sharded index",
        "esql/order.slt",
    ),
    c(
        "Processing commands",
        "STATS ... BY expression (named or named by its text)",
        Supported,
        "",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "STATS BY keys (no aggregate)",
        Supported,
        "",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "STATS agg WHERE cond",
        Supported,
        "the filter applies to every aggregate of the expression; the aggregate keeps its other arguments (PERCENTILE's)",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Processing commands",
        "STATS x = expression over aggregates (AVG(a) / 2 + MAX(b), ROUND(SUM(h), 1))",
        Supported,
        "the aggregates per group under hidden names, then the expression over them; an expression may also read the BY keys (e = LENGTH(f) + 1 BY f = first_name) and repeat a computed key's expression, which reads the key (1 + BUCKET(s, 1000.) BY b = BUCKET(s, 1000.); esql/stats_more.slt)",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Processing commands",
        "STATS unnamed aggregate (STATS COUNT(*))",
        Supported,
        "named by its text",
        "",
    ),
    c(
        "Processing commands",
        "aggregate over an expression (SUM(a * 2))",
        Supported,
        "",
        "",
    ),
    c(
        "Processing commands",
        "SORT field [ASC|DESC]",
        Supported,
        "NULLS LAST on ASC, FIRST on DESC, as Elasticsearch; SORT keys are columns or expressions (an expression is computed by an EVAL before the SORT and dropped after it); the order is kept through later WHERE, EVAL, KEEP, DROP, RENAME, also when they drop or replace its keys (the rows then carry their place in it, hidden), and applied by LIMIT and at the end; a multi-valued key sorts by its smallest value ascending, its largest descending, as Elasticsearch (a multi-valued IP or version key sorts as NULL)",
        "esql/order.slt",
    ),
    c(
        "Processing commands",
        "SORT ... NULLS FIRST / NULLS LAST",
        Supported,
        "",
        "esql/order.slt",
    ),
    c(
        "Processing commands",
        "DISSECT / GROK replacing a column a pending SORT uses",
        Supported,
        "the earlier order is kept, as Elasticsearch keeps it (the rows carry their place, hidden)",
        "esql/order.slt",
    ),
    c(
        "Processing commands",
        "LIMIT n",
        Supported,
        "applies the pending SORT",
        "esql/semantics.slt",
    ),
    c(
        "Processing commands",
        "LIMIT n BY key, ...",
        Supported,
        "the first n rows of each group of equal keys (expressions; a NULL key is a group, a multi-valued key its whole list) in the pending order, which is kept; without a SORT, any n rows of each group; keys written [index].[field] are a parse error",
        "esql/stats_more.slt",
    ),
    c(
        "Processing commands",
        "implicit LIMIT 1000",
        Partial,
        "off by default (every row returned); --esql-default-limit applies it; the output's metadata lakehunt.esql_limit says which; Rust test: tests/it/cli.rs esql_returns_every_row_unless_asked_for_the_default_limit",
        "",
    ),
    c(
        "Processing commands",
        "LIMIT without a whole number",
        Refused,
        "\"LIMIT takes a whole number\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Processing commands",
        "DISSECT field \"pattern\"",
        Supported,
        "keys up to the next delimiter, the last takes the rest; no match gives NULL keys; every key is cut from the original value, also when one replaces the field; the field may be an expression (DISSECT CONCAT(a, \" \", b) \"...\"); a key written twice takes the later capture",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "DISSECT APPEND_SEPARATOR=\"x\", %{+key}",
        Supported,
        "",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "DISSECT %{+key/N}",
        Supported,
        "appended in the order of N (unnumbered: 0), ties in the order of appearance",
        "esql/constants.slt",
    ),
    c(
        "Processing commands",
        "DISSECT %{?skip}, %{}",
        Supported,
        "",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "DISSECT %{key->} (repeated delimiter)",
        Supported,
        "",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "DISSECT reference keys %{*key} / %{&key}",
        Refused,
        "\"reference keys are not supported yet\"",
        "",
    ),
    c(
        "Processing commands",
        "DISSECT two keys without a delimiter, no key",
        Refused,
        "\"two keys need a delimiter between them\" / \"the pattern has no %{key}\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Processing commands",
        "GROK field \"pattern\"",
        Partial,
        "unanchored; only the common Logstash patterns (USERNAME, USER, EMAILLOCALPART, EMAILADDRESS, INT, BASE10NUM, NUMBER, BASE16NUM, POSINT, NONNEGINT, WORD, NOTSPACE, SPACE, DATA, GREEDYDATA, QUOTEDSTRING, UUID, MAC, IPV4, IPV6, IP, HOSTNAME, IPORHOST, HOSTPORT, UNIXPATH, WINPATH, PATH, URIPROTO, URIHOST, URIPATH, YEAR, MONTHNUM, MONTHDAY, HOUR, MINUTE, SECOND, ISO8601_TIMEZONE, TIMESTAMP_ISO8601, LOGLEVEL), written for Rust's regex (no look-around or atomic groups); several patterns (GROK f \"a\", \"b\"): the first that matches anywhere gives every name the patterns capture (NULL where it does not capture one; Elasticsearch may combine them as one alternation, where the leftmost match wins: untested); the field may be an expression; a name captured more than once in a pattern is multi-valued: its captures in order, NULLs left out",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "GROK %{SYNTAX:name:int|long|float|double|boolean}",
        Supported,
        "",
        "esql/tier3.slt",
    ),
    c(
        "Processing commands",
        "GROK (?<name>...) named groups in the pattern",
        Supported,
        "captured as text fields",
        "",
    ),
    c(
        "Processing commands",
        "GROK pattern not in the list",
        Refused,
        "\"pattern X is not known here\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Processing commands",
        "GROK name captured twice",
        Supported,
        "a multi-valued field, as Elasticsearch makes one: the captures in order, NULLs left out (typed captures converted each)",
        "esql/constants.slt",
    ),
    c(
        "Processing commands",
        "GROK unknown type suffix, no named field, patterns nested over 16 deep",
        Refused,
        "named errors; Rust test: no named field: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Processing commands",
        "MV_EXPAND field",
        Supported,
        "a stored keyword list expands to its values sorted, each once (as Elasticsearch returns them), and after a SORT each row keeps its place (numbered in the order, as when a KEEP drops the keys) and its values that order; SPLIT's values keep order and repeats; a NULL or empty list keeps its row with NULL; a plain field is left as it is; the column keeps its place",
        "esql/multivalued.slt",
    ),
    c(
        "Processing commands",
        "ENRICH policy [ON field] [WITH [new =] field, ...]",
        Partial,
        "match policies: the lookup table is a file (--enrich POLICY=PATH, Parquet or CSV with a header, first column the key), matched by equality; where any key has several rows, every field is a list (of one value where a key has one row) holding each matching row's value (Elasticsearch merges the matches; order not kept); range policies: --enrich-range (below); geo_match refused; unmatched rows get NULL; a column of the same name is replaced; a multi-valued ON field: each of its values looked up, the matching rows' values merged into a list (a value without a match, or a matching row's NULL field, adds nothing; none: NULL), as Elasticsearch merges them; an ENRICH column that replaces a column a pending SORT uses is then sorted by its new value (not refused as EVAL is; untested); Rust test: tests/it/cli.rs esql_enrich_adds_a_lookup_tables_fields",
        "esql/enrich.slt",
    ),
    c(
        "Processing commands",
        "ENRICH with a range policy (ip_range, integer/long_range, double_range, date_range)",
        Supported,
        "--enrich-range POLICY=PATH: the first column holds ranges as Elastic's test data writes them (10.0.0.0/8, FROM..TO meaning gte FROM and lt TO, or one value) of IPs, whole numbers, decimals or dates; each field comes from every range that holds the key (each value of a multi-valued key), a list where the table's ranges overlap or the key is multi-valued, else a plain value; a decimal key is placed by its floor in whole-number ranges; the table is read into memory; not on a cluster (the ranges live in the client's functions)",
        "esql/enrich_range.slt",
    ),
    c(
        "Processing commands",
        "ENRICH policy not given, or a WITH field the table lacks",
        Refused,
        "named errors; Rust test: tests/it/cli.rs esql_enrich_adds_a_lookup_tables_fields",
        "",
    ),
    c(
        "Processing commands",
        "LOOKUP JOIN index ON field[, field...]",
        Supported,
        "the lookup index is a Parquet dataset (--index NAME=PATH: beside --data it is a lookup index only; without --data, FROM's patterns and LOOKUP JOIN both name --index datasets); a left join, one row per match; the index's other fields come last and replace columns of the same name (NULL where nothing matched); a multi-valued key on either side matches nothing (the rows' side counts a multi_valued warning, the index's side none); every numeric type joins every other, text joins text; an IP key compares as an address with the index's text (Elasticsearch refuses ip against keyword); rows keep a preceding SORT's order (Elasticsearch does not promise it and warns)",
        "esql/lookup_join.slt",
    ),
    c(
        "Processing commands",
        "LOOKUP JOIN index ON a == b AND c >= d",
        Supported,
        "comparisons (== != < <= > >=) of a column with a field of the index, joined by AND; a name found on both sides is refused (RENAME it first); MATCH in the condition is refused",
        "esql/lookup_join.slt",
    ),
    c(
        "Processing commands",
        "LOOKUP JOIN index not given, a key the index lacks, keys of different types",
        Refused,
        "named errors",
        "esql/lookup_join.slt",
    ),
    c(
        "Processing commands",
        "INLINE STATS aggs [WHERE cond] [BY keys] (and INLINESTATS)",
        Supported,
        "every row kept with its group's aggregates; columns: the others, then the aggregates, then the keys (a column of the same name is replaced); a NULL key is a group; a preceding SORT's order is kept; after LIMIT (or LIMIT BY) refused, as in Elasticsearch; BY a multi-valued column (beside other keys or alone): the row is in each of its values' groups and gets a list of their aggregates (a list of one where the key has one value; a group's list-valued aggregate adds its values); BY several: the row is in the group of every combination of their values, the first key's outermost (a key that copies another, EVAL z = y, is the same key), each row expanded per combination and gathered back with all its columns (slow on wide rows: KEEP what is needed first); VALUES gives a list even of one value",
        "esql/inline_stats.slt",
    ),
    c(
        "Processing commands",
        "SHOW, FORK, CHANGE_POINT, SAMPLE, COMPLETION, RERANK, LOOKUP (any other command)",
        Refused,
        "\"command X is not supported yet\"",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "== != < <= > >=",
        Supported,
        "each side is read as one value: a multi-valued field or computed list compares as NULL (counted as a warning); so do + - * / % and unary minus, whose result is then NULL",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "= where == compares",
        Refused,
        "\"expected == to compare (= only names a column, in EVAL and STATS)\", as Elasticsearch refuses it",
        "esql/tier3.slt",
    ),
    c(
        "Operators and expressions",
        "string compared with a time",
        Supported,
        "read as the time (\"2026-01-15\" is midnight)",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "string compared with an IP field (text named ip or *.ip), also in IN",
        Supported,
        "any spelling of the address matches (IPv4-mapped equals IPv4); IP fields are recognised by name, since Parquet has no IP type",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "a stored IP field's text (fields named *.ip) and TO_IP's result",
        Supported,
        "written as Elasticsearch writes an ip it keeps as 16 bytes: an IPv4-mapped address as IPv4 (::ffff:10.0.0.1 is 10.0.0.1), IPv6 lower case with the longest run of zeros as ::; so spellings of one address are one value in output, STATS groups, VALUES, COUNT_DISTINCT, TO_STRING and a stored list's values (MV_ functions); comparisons and CIDR_MATCH read any spelling as its address; text that is no address stays as it is. Not yet: string functions given the field itself (Elasticsearch refuses an ip there; here it is read as stored text)",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "string that is not an address compared with an IP",
        Refused,
        "\"cannot convert string [X] to [IP]\", as Elasticsearch",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "IP order: < <= > >= and SORT on IPs (fields named *.ip, TO_IP, IP_PREFIX and columns computed from them), == between two IPs",
        Supported,
        "as addresses in Elasticsearch's order (IPv4 as IPv4-mapped IPv6: ::1 before 127.0.0.1), not as text; a multi-valued IP field sorts by its single value (NULL when several)",
        "esql/types.slt",
    ),
    c(
        "Operators and expressions",
        "string compared with a boolean",
        Supported,
        "\"true\" in any case is true, any other text false (Java's Boolean.parseBoolean)",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "AND, OR, NOT",
        Supported,
        "three-valued, as SQL",
        "esql/hunts.slt",
    ),
    c(
        "Operators and expressions",
        "IS NULL / IS NOT NULL",
        Supported,
        "",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "IN (...) / NOT IN (...)",
        Supported,
        "each item one value: a multi-valued item (a field, a list literal) is NULL, with the warning, as a multi-valued value is",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "LIKE / NOT LIKE",
        Supported,
        "* and ? wildcards, % and _ literal, \\ escapes, whole string, case-sensitive; a pattern of only * is IS NOT NULL, as Elasticsearch rewrites it (NOT LIKE \"*\" keeps rows without a value; also RLIKE \".*\"); a pattern may be a constant expression (CONCAT, TO_LOWER, TO_UPPER of text) or a column an earlier EVAL or ROW made constant, as Elasticsearch propagates them (not past STATS, DISSECT, GROK, ENRICH or LOOKUP JOIN); any other column is refused",
        "esql/constants.slt",
    ),
    c(
        "Operators and expressions",
        "RLIKE",
        Supported,
        "Lucene syntax: anchored to the whole string, . matches newlines, ^ and $ literal outside brackets",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "NOT RLIKE",
        Supported,
        "",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "LIKE / RLIKE (\"a*\", \"b?\") (a list of patterns)",
        Supported,
        "true where any pattern matches; NULL stays NULL, also under NOT",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "- + * on whole numbers",
        Supported,
        "integer op integer (literals included, also a literal given a name by EVAL or ROW) stays an integer, long a long; past the range NULL with a warning, where SQL would wrap (esql_add, esql_sub, esql_mul)",
        "esql/types.slt",
    ),
    c(
        "Operators and expressions",
        "* / + - on fractions",
        Supported,
        "SQL arithmetic; the .slt runs `*` and `/`",
        "esql/hunts.slt",
    ),
    c(
        "Operators and expressions",
        "/",
        Supported,
        "integer division truncates toward zero; division by zero is NULL with a warning (esql_div)",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "%",
        Supported,
        "modulo by zero is NULL with a warning (esql_mod); Rust test: no test runs % from ES|QL",
        "",
    ),
    c(
        "Operators and expressions",
        "- (unary minus), + (unary plus)",
        Supported,
        "also of a time span or a sum of spans (d + (-2 days), -(1 hour + 1 minute), -(-1 year)), folded; a unary plus changes nothing (-+-+-1 is -1); a negative whole number is an integer where it fits one (-2147483648), and the negation of the smallest integer or long is NULL with a warning (arithmetic_overflow)",
        "esql/constants.slt",
    ),
    c(
        "Operators and expressions",
        "a string beside a time span (\"2024-01-31\" + 1 month)",
        Supported,
        "the string is read as a date, as ES|QL casts it, on either side and beside a sum of spans (\"2024-04-01\" + (1 year + 1 day): the months first, as Java adds a Period); text that is not a date gives NULL (Elasticsearch refuses the query)",
        "esql/constants.slt",
    ),
    c(
        "Operators and expressions",
        "qualified names with white space around the dots (process.parent.name .caseless)",
        Supported,
        "read as one name, as ES|QL's grammar reads names and dots",
        "esql/names.slt",
    ),
    c(
        "Operators and expressions",
        "time arithmetic: now() - 8 hour, @timestamp + span",
        Supported,
        "a constant (NOW() plus or minus spans) is folded to a literal; on a column, months first (the day clamped to the month's last, as java.time), then days and the rest, for any year the stored unit holds (microsecond data: about 292,000 years from 1970, where Elasticsearch's milliseconds hold 292 million); past it NULL with a warning (arithmetic_overflow); a count of months, quarters or years past an integer refused, as Elasticsearch refuses the period; a time plus or minus NULL is NULL; dates past year 262143 are computed but cannot be written as text (TO_LONG gives them)",
        "esql/far_dates.slt",
    ),
    c(
        "Operators and expressions",
        "time spans: ms, s/sec/second(s), m/min/minute(s), h/hour(s), d/day(s), w/week(s), any case, also 1d",
        Supported,
        "day and week are fixed spans of 24 h and 7 x 24 h (all times are UTC)",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "calendar spans: mo/month(s), q/quarter(s), y/yr/year(s)",
        Supported,
        "used by DATE_TRUNC, BUCKET and time arithmetic (SQL intervals; a quarter is three months)",
        "esql/tier3.slt",
    ),
    c(
        "Operators and expressions",
        "a comparison of a keyword, a date or a boolean with a value of another type (host.name > 8000)",
        Refused,
        "\"cannot compare host.name (keyword) with 8000 (integer or long)\", as Elasticsearch's verifier refuses it (SQL would cast the text row by row and fail the query on the first that is not a number); a string literal beside a number is read as one; data that stores numbers or dates as text (where Elasticsearch would map a long or a date) is refused too: convert it with TO_LONG or TO_DATETIME",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "qualified names: [index].[field] (LIMIT 1 BY [employees].[languages])",
        Refused,
        "\"qualified names ([index].[field]) are not supported yet\" at the bracket; the field's own name reads the same field",
        "esql/names.slt",
    ),
    c(
        "Operators and expressions",
        "time span past the time range",
        Refused,
        "\"time span out of range\"; Rust test: unit test units_escapes_and_out_of_range_spans",
        "",
    ),
    c(
        "Operators and expressions",
        "value::type (double, integer/int, long, keyword/string/text, datetime/date, ip, boolean/bool)",
        Supported,
        "the TO_* function of that type (below)",
        "esql/tier3.slt",
    ),
    c(
        "Operators and expressions",
        "value::version, \"3 days\"::date_period, \"1 hour\"::time_duration, TO_DATEPERIOD(text), TO_TIMEDURATION(text)",
        Supported,
        "TO_VERSION; a span written as constant text (also CONCAT of text, or a column an EVAL made constant) or already a span ((3 months + 3 days)::date_period) is the span, NULL (also TO_STRING(null)) a NULL span, which makes the date NULL (any other text refused: \"a date_period or time_duration is a constant text\")",
        "esql/semantics.slt",
    ),
    c(
        "Operators and expressions",
        "value::other type (geo_point, cartesian_shape, ...)",
        Refused,
        "\"cannot cast to X\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Operators and expressions",
        "field : query",
        Supported,
        "MATCH(field, query)",
        "esql/match.slt",
    ),
    c(
        "Operators and expressions",
        "{ \"option\": value } outside MATCH's last argument",
        Refused,
        "\"options { ... } are only MATCH's last argument\"",
        "",
    ),
    c(
        "Literals, names, comments",
        "string \"...\" with \\t \\n \\r \\\" \\\\",
        Supported,
        "Rust test: unit test units_escapes_and_out_of_range_spans",
        "",
    ),
    c(
        "Literals, names, comments",
        "string with any other escape (\"a\\.b\")",
        Refused,
        "\"unknown escape\", as Elasticsearch (write \"a\\\\.b\" or \"\"\"a\\.b\"\"\")",
        "esql/tier3.slt",
    ),
    c(
        "Literals, names, comments",
        "\"\"\"...\"\"\" (triple-quoted string)",
        Supported,
        "no escapes inside",
        "esql/hunts.slt",
    ),
    c(
        "Literals, names, comments",
        "whole numbers, decimals (1.5, .9, 1.)",
        Supported,
        "a whole number past the long range is an unsigned_long (up to 2^64 - 1), past that a double, as Elasticsearch reads them; -9223372036854775808 is a long",
        "esql/semantics.slt",
    ),
    c(
        "Literals, names, comments",
        "exponent notation (1e3, 1.5e10)",
        Supported,
        "a double",
        "esql/conversions.slt",
    ),
    c(
        "Literals, names, comments",
        "true, false, null",
        Supported,
        "",
        "",
    ),
    c(
        "Literals, names, comments",
        "query parameters (?, ?name)",
        Refused,
        "\"unexpected character '?'\" (untested)",
        "",
    ),
    c(
        "Literals, names, comments",
        "backtick identifiers (`by`, `event`.n, doubled backtick)",
        Supported,
        "a keyword in backticks is a field",
        "esql/tier3.slt",
    ),
    c(
        "Literals, names, comments",
        "// and /* */ comments",
        Supported,
        "Rust test: unit test the_seed_query_translates",
        "",
    ),
    c(
        "Literals, names, comments",
        "errors with line:column",
        Supported,
        "each error names the construct and its position",
        "esql/tier3.slt",
    ),
    c(
        "Literals, names, comments",
        "ECS multi-fields field.caseless, field.text",
        Supported,
        "on data that holds only the parent (a single string): .caseless is the lower-cased value, .text the value; a literal compared with .caseless is not lower-cased, as in Elasticsearch; not for multi-valued parents",
        "esql/names.slt",
    ),
    c(
        "Literals, names, comments",
        "list literals [a, b, ...]",
        Supported,
        "a multi-valued constant in the order written; values of one type (whole numbers beside a decimal are doubles, integers beside a long longs), else refused; [] is NULL",
        "esql/row.slt",
    ),
    c(
        "Functions",
        "NOW()",
        Supported,
        "--as-of (default now), and events after it are invisible (Elasticsearch has no later events)",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "CASE(cond, value, ..., [else])",
        Supported,
        "a multi-valued condition is false, with the multi_valued warning; a list of one value is that value; values mixing a list with single numbers, one decimal, are all lists of doubles (esql/row.slt)",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "CIDR_MATCH(ip, block, ...)",
        Supported,
        "lakehunt's cidr_match UDF with ES|QL's rules (see docs/semantics.md)",
        "esql/hunts.slt",
    ),
    c(
        "Functions",
        "STARTS_WITH(s, prefix), ENDS_WITH(s, suffix)",
        Supported,
        "",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "takes N arguments: any function called with the wrong number",
        Refused,
        "\"X takes N arguments, got M\"",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "TO_LOWER(s)",
        Supported,
        "DataFusion's lower()",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "TO_UPPER(s)",
        Supported,
        "DataFusion's upper()",
        "",
    ),
    c(
        "Functions",
        "LENGTH(s)",
        Supported,
        "characters (character_length)",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "TRIM(s), LTRIM(s), RTRIM(s)",
        Supported,
        "DataFusion's trim, ltrim, rtrim; which characters count as white space was not compared with Elasticsearch's (untested)",
        "",
    ),
    c(
        "Functions",
        "CONCAT(a, b, ...)",
        Supported,
        "NULL if any part is NULL, as Elasticsearch (SQL's concat() skips NULLs)",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "COALESCE(a, ...)",
        Supported,
        "",
        "esql/semantics.slt",
    ),
    c(
        "Functions",
        "ABS(x)",
        Supported,
        "of an unsigned_long the value itself, a list's values included (Elasticsearch folds it so)",
        "esql/conversions.slt",
    ),
    c(
        "Functions",
        "a string literal as a math function's number (ABS(\"10.0\"))",
        Supported,
        "read as the number it writes, a double (ROUND's decimals a long), as Elasticsearch's analyzer casts it; text that is no number is refused (\"Cannot convert string [x] to [DOUBLE]\"); only literals, not columns",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "LEFT(s, n), RIGHT(s, n)",
        Supported,
        "DataFusion's left, right",
        "",
    ),
    c(
        "Functions",
        "SPLIT(s, delim)",
        Supported,
        "values keep their order and repeats; any delimiter string is accepted",
        "esql/multivalued.slt",
    ),
    c(
        "Functions",
        "REPLACE(s, regex, replacement)",
        Supported,
        "Java's replacement rules through esql_replace: $1, ${name}, \\$; \\1 is the digit 1; $12 is group 1 then 2 unless the regex has 12 groups",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "SUBSTRING(s, start[, length])",
        Supported,
        "from 1; a negative start counts from the end; 0 is 1",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "FROM_BASE64(s)",
        Supported,
        "padding optional, as Java's decoder; invalid text is NULL",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "ROUND(x[, digits])",
        Supported,
        "DataFusion's round, half away from zero; of a whole number exact (by -20 or any long below, 0), NULL with a warning where the result leaves the type (ROUND(18446744073709551615, -19))",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "FLOOR(x), CEIL(x)",
        Supported,
        "DataFusion's floor, ceil",
        "",
    ),
    c(
        "Functions",
        "E(), PI(), TAU(), EXP(x), CBRT(x), SIGNUM(x), SIN, COS, TAN, ATAN, ATAN2(y, x), TANH, TO_DEGREES, TO_RADIANS",
        Supported,
        "doubles, as Elasticsearch's; EXP past the double range is Infinity (Elasticsearch's Math.exp has no check); TO_DEGREES and TO_RADIANS of a list convert each value (esql/conversions.slt)",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "LOG(x), LOG(base, x), LOG10(x), SQRT(x), POW(x, y), ASIN, ACOS, SINH, COSH, HYPOT(a, b)",
        Supported,
        "doubles; the logarithm of 0 or of a negative number or to base 1, the square root of a negative number, ASIN/ACOS outside [-1, 1], and results past the double range are NULL with a warning (math_domain); HYPOT is sqrt(a^2 + b^2), so past 1e154 it overflows to NULL where Java's Math.hypot still answers",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "GREATEST(a, ...), LEAST(a, ...)",
        Supported,
        "NULL where any argument is NULL, as Elasticsearch; a multi-valued argument takes part with its largest (smallest) value",
        "esql/conversions.slt",
    ),
    c(
        "Functions",
        "TO_DOUBLE(x)",
        Supported,
        "text that is not a number is NULL with a warning (conversion; only where the argument is a field or a literal, else NULL without one); a time is its epoch milliseconds; text is read by DataFusion's cast, which may accept spellings Java's parser refuses (inf)",
        "esql/conversions.slt",
    ),
    c(
        "Functions",
        "TO_INTEGER(x) / TO_INT(x), TO_LONG(x)",
        Supported,
        "whole-number text exact, other text and fractions rounded half up (Java's Math.round); a time is its epoch milliseconds; not a number or out of range: NULL with a warning (conversion; of a field or a literal)",
        "esql/conversions.slt",
    ),
    c(
        "Functions",
        "TO_STRING(x) / TO_STR(x)",
        Partial,
        "a time as yyyy-MM-ddTHH:mm:ss.SSSZ; a double as Java's Double.toString (1.0E20, 1.0E-4); anything else through SQL's CAST to text; a list of doubles through the CAST (1e20)",
        "esql/conversions.slt",
    ),
    c(
        "Functions",
        "TO_DATETIME(x) / TO_DT(x)",
        Supported,
        "whole numbers and decimals are epoch milliseconds; text is read as Elasticsearch's strict_date_optional_time (yyyy[-MM[-dd[THH[:mm[:ss[.f]]][offset]]]]; a space for T fails); a list converts each value; failures NULL with a warning (conversion; of a field or a literal)",
        "esql/conversions.slt",
    ),
    c(
        "Functions",
        "TO_IP(x[, {\"leading_zeros\": mode}])",
        Partial,
        "the text itself when it is an IPv4 or IPv6 address, else NULL with a warning (conversion; of a field or a literal); leading_zeros \"reject\" (the default), \"decimal\" (1.1.010.1 is 1.1.10.1) or \"octal\" (1.1.8.1); not normalised to Elasticsearch's IP type (::ffff:1.2.3.4 stays as written); of a list each value that is an address, in the list's order (the others dropped with a warning; none left NULL)",
        "esql/typed_lists.slt",
    ),
    c(
        "Functions",
        "TO_BOOLEAN(x) / TO_BOOL(x)",
        Supported,
        "numbers: non-zero is true; text: \"true\" in any case; a list converts each value",
        "esql/conversions.slt",
    ),
    c(
        "Functions",
        "DATE_TRUNC(span, t)",
        Supported,
        "1 day the calendar day, 7 days / 1 week the ISO week from Monday, 1 month / quarter / year calendar, n months / quarters / years whole months counted from 0001-01 floored to a multiple of n (7 years from 1963 is 1961, as Elasticsearch), any other span epoch-aligned buckets; any date from -262143 to 262142 (sentinels such as 0001-01-01 and 9999-12-31 included), as DATE_EXTRACT, DATE_FORMAT, DATE_DIFF, BUCKET and TO_STRING; the span and the date may be text (DATE_TRUNC(\"1 month\", \"1991-06-26\"))",
        "esql/constants.slt",
    ),
    c(
        "Functions",
        "DATE_TRUNC without a span first",
        Refused,
        "\"takes a time span first\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Functions",
        "BUCKET(field, span)",
        Supported,
        "times as DATE_TRUNC; numbers to multiples of the span, as a double; a span of 0 gives NULL",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "BUCKET(field, buckets, from, to), BIN(...), AUTO_BUCKET(...)",
        Supported,
        "AUTO_BUCKET is its name before Elasticsearch 8.14; the size Elasticsearch picks: for dates the finest of a day, 12, 3 and 1 hours, 30, 10, 5 and 1 minutes, 30, 10, 5 and 1 seconds, 100, 50, 10 and 1 ms that covers from..to in at most that many buckets, else a week, month or year (UTC); for numbers the range over the count rounded up to a power of ten or half of one; the count, from and to constants (text dates, also CONCAT of text, NOW() plus or minus a span, numbers, arithmetic of numbers, concat(...)::int) or columns an earlier EVAL made constant",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "BUCKET with a span that is not a constant",
        Refused,
        "\"BUCKET takes a constant span second\"",
        "",
    ),
    c(
        "Functions",
        "DATE_DIFF(unit, start, end)",
        Supported,
        "whole units truncated toward zero as Java's ChronoUnit.between; months, quarters, years as LocalDateTime.until; NULL past the int range; units nanosecond(s)/ns, microsecond(s)/mcs, millisecond(s)/ms, second(s)/ss/s, minute(s)/mi/n, hour(s)/hh, day(s)/dd/d/dayofyear/dy/y/weekday(s)/dw, week(s)/wk/ww, month(s)/mm/m, quarter(s)/qq/q, year(s)/yyyy/yy",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "DATE_DIFF with an unknown unit or a unit that is not a string",
        Refused,
        "\"DATE_DIFF: unknown unit\" / \"takes a unit string first\"",
        "",
    ),
    c(
        "Functions",
        "DATE_FORMAT([pattern,] t)",
        Supported,
        "Java pattern letters y u M d D H h m s S (3, 6 or 9) a E e w Y X x Z and quoted text; ISO 8601 with milliseconds by default; the zone is always UTC",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "DATE_FORMAT with another pattern letter (Q, G, k, K, z, V, ...) or S not 3/6/9 long",
        Refused,
        "\"pattern letter X is not supported\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Functions",
        "MATCH(field, query [, {options}])",
        Partial,
        "chosen by the field's ECS name, not a mapping: message, error.message and *.text are text (standard analyzer), ip and *.ip addresses or CIDR blocks, other strings keywords; numbers, booleans and times compare with the query read as one (a date matches the span it names); max_expansions not applied (a superset), boost and scoring options change nothing",
        "esql/match.slt",
    ),
    c(
        "Functions",
        "MATCH options fuzziness (AUTO, AUTO:low,high, 0-2) and operator",
        Supported,
        "as Lucene's fuzzy and match queries",
        "esql/match.slt",
    ),
    c(
        "Functions",
        "MATCH options minimum_should_match, prefix_length, fuzzy_transpositions, zero_terms_query",
        Supported,
        "Rust test: unit tests in udfs/src/esql_match.rs cover minimum_should_match, prefix_length and transpositions; zero_terms_query: no test",
        "",
    ),
    c(
        "Functions",
        "MATCH options boost, max_expansions, fuzzy_rewrite, lenient, auto_generate_synonyms_phrase_query",
        Partial,
        "accepted and ignored (they change scores or Elasticsearch's term expansion only)",
        "esql/match.slt",
    ),
    c(
        "Functions",
        "MATCH option analyzer",
        Refused,
        "\"the analyzer option is not supported: text fields are read with the standard analyzer\"",
        "",
    ),
    c(
        "Functions",
        "MATCH unknown option or invalid value",
        Refused,
        "\"invalid option [X] in MATCH\" / \"invalid value\"",
        "esql/match.slt",
    ),
    c(
        "Functions",
        "MATCH outside WHERE and STATS",
        Refused,
        "as Elasticsearch",
        "esql/match.slt",
    ),
    c(
        "Functions",
        "MATCH after LIMIT",
        Refused,
        "as Elasticsearch",
        "esql/match.slt",
    ),
    c(
        "Functions",
        "MATCH after STATS",
        Refused,
        "as Elasticsearch",
        "",
    ),
    c(
        "Functions",
        "MATCH on a column the query computed",
        Refused,
        "as Elasticsearch",
        "esql/match.slt",
    ),
    c(
        "Functions",
        "MATCH with a query that is not a constant, a first argument that is not a field, or on a field type it cannot read (such as a struct)",
        Refused,
        "named errors",
        "",
    ),
    c(
        "Functions",
        "MV_COUNT(field)",
        Supported,
        "stored keyword lists count each value once; numeric lists count every value; SPLIT's values count repeats",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "MV_CONCAT(field, delim)",
        Supported,
        "stored keyword lists sorted and each once, as Elasticsearch returns them; SPLIT's values in order",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "MV_DEDUPE(field)",
        Supported,
        "a list in its own order (a literal, SPLIT) keeps each value's first place, as the reference's example; a stored list comes sorted",
        "esql/multivalued.slt",
    ),
    c(
        "Functions",
        "MV_FIRST(field), MV_LAST(field)",
        Supported,
        "stored lists sorted first; SPLIT's values in their order",
        "esql/tier3.slt",
    ),
    c(
        "Functions",
        "MV_MAX(field), MV_MIN(field)",
        Supported,
        "the largest and smallest value of any list, in its order (numbers, text by its bytes, booleans); of addresses and versions (TO_IP, TO_VERSION, a stored *.ip list) by address and version, not as text",
        "esql/multivalued.slt",
    ),
    c(
        "Functions",
        "MV_SLICE(field, start[, end])",
        Supported,
        "from 0, negative positions from the end, the range clamped to the values, NULL when it misses them",
        "esql/multivalued.slt",
    ),
    c(
        "Functions",
        "MV_SLICE with start after end, different signs, or positions that are not whole-number constants",
        Refused,
        "as Elasticsearch for constants",
        "esql/multivalued.slt",
    ),
    c(
        "Functions",
        "BIT_LENGTH(s), BYTE_LENGTH(s), LOCATE(s, sub[, start]), REPEAT(s, n), SPACE(n), TO_BASE64(s)",
        Supported,
        "lengths of the UTF-8 bytes; LOCATE counts characters from 1, 0 when not found, a start of 0 is 1 and a negative one counts from the end; a negative count is NULL with a warning (invalid_argument), a negative literal refused as Elasticsearch refuses it",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "FMT_BYTES(n[, unit]), FMT_BYTES_SI(n[, unit]), FMT_DURATION(nanos[, unit]), FMT_PERCENT(ratio)",
        Supported,
        "Elasticsearch's text for byte counts (b, kb, ... pb; SI: B, KB, ... PB), durations (nanos, micros, ms, s, m, h, d) and ratios: the largest unit that keeps the value at least 1 or the unit given (any case), one decimal cut, no trailing .0, Java's E notation for tiny values; FMT_PERCENT rounds half up; -1 prints as -1 whatever the unit; below -1 or an unknown unit NULL with a warning (invalid_argument); a value of another type refused",
        "esql/format.slt",
    ),
    c(
        "Functions",
        "REVERSE(s)",
        Partial,
        "reverses characters (code points), where Elasticsearch keeps grapheme clusters together: a letter and its combining accents, or a joined emoji sequence, come out in another order (untested)",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "MD5(s), SHA1(s), SHA256(s), HASH(algorithm, s)",
        Supported,
        "lower-case hex of the UTF-8 bytes; HASH takes MD5, SHA/SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 (also without the dash), case-insensitive; another algorithm, or one that is not a literal, is refused",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "MV_SORT(field[, order]), MV_AVG, MV_SUM, MV_MEDIAN, MV_APPEND(a, b), MV_PSERIES_WEIGHTED_SUM(field, p)",
        Supported,
        "repeats of a computed list kept, a stored list's values as its doc values hold them (a keyword once); addresses and versions sorted as such; MV_SUM keeps the type and is NULL with a warning past it (unsigned_longs: past 2^64 - 1); MV_MEDIAN of whole numbers rounds toward negative infinity, of unsigned_longs down, in their range; MV_APPEND is NULL when either side is; the p-series sums in the values' stored (sorted) order with compensation",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Functions",
        "DATE_EXTRACT(part, date)",
        Supported,
        "java.time's ChronoField names (any case), in UTC: year, month_of_year, day_of_month, day_of_year, day_of_week (ISO, Monday 1), hour_of_day, minute_of_hour, second_of_minute, the aligned weeks, clock hours, AM/PM, epoch_day, instant_seconds, the milli/micro/nano fields; an unknown part is refused",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Functions",
        "DATE_PARSE(pattern, text)",
        Supported,
        "a Java pattern (the same letters as DATE_FORMAT); a date alone is midnight UTC; text that does not parse is NULL with a warning (invalid_argument), NULL or empty text NULL; without a pattern strict_date_optional_time (TO_DATETIME's), a NULL pattern NULL; the pattern may be a column an EVAL made constant; the options map is refused",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "DAY_NAME(date), MONTH_NAME(date)",
        Supported,
        "in English (Elasticsearch's default locale), UTC",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "IP_PREFIX(ip, v4_bits, v6_bits)",
        Partial,
        "IPv4 and IPv4-mapped addresses by the v4 length, others by the v6 length; a length out of range NULL with a warning, a literal one too, as Elasticsearch evaluates it; a NULL argument NULL; the result is the address as text, not an ip value",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "CLAMP(x, min, max), CLAMP_MIN(x, min), CLAMP_MAX(x, max)",
        Supported,
        "a NULL value stays NULL",
        "esql/functions.slt",
    ),
    c(
        "Functions",
        "MV_ZIP(a, b[, delimiter])",
        Supported,
        "pairs by place, the longer side's rest as it is; a NULL side gives the other, a NULL delimiter NULL; always a list, even of one value",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "MV_PERCENTILE(field, p), MV_MEDIAN_ABSOLUTE_DEVIATION(field)",
        Supported,
        "in the values' type (whole numbers: the percentile interpolates down, the deviation's medians round toward zero); p outside 0..100 NULL with a warning (invalid_argument); p may be a column",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "ROUND_TO(field, points...)",
        Supported,
        "the largest point not above the value, below them all the smallest; points in any order; the arguments' common type; numbers and dates",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "COPY_SIGN(magnitude, sign), SCALB(d, n), ACOSH, ASINH, ATANH",
        Supported,
        "COPY_SIGN keeps the magnitude's type (a double takes the sign bit, so -0.0 is negative); SCALB and the inverse hyperbolic functions give doubles, NULL with a warning (math_domain) past the double range or outside the domain",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "TO_UNSIGNED_LONG (TO_ULONG, TO_UL)",
        Supported,
        "an unsigned 64-bit result: text and decimals truncated toward zero, true 1, a date its milliseconds, a list value by value; outside 0..2^64-1 NULL with a warning (invalid_argument); + - * of two unsigned_longs below 0 or past 2^64 - 1 NULL with a warning (arithmetic_overflow), / and % unsigned; arithmetic with a signed whole number follows DataFusion's rules (Elasticsearch refuses the query); ::unsigned_long casts",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "TO_DATE_NANOS",
        Partial,
        "a long is nanoseconds, a double rounded, text parsed, a date widened; before 1970 NULL with a warning (invalid_argument); an integer refused, as Elasticsearch refuses it; a millisecond date after 2262 fails the query instead of a warning",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "TO_VERSION (TO_VER), the version type",
        Supported,
        "versions compare and sort as Elasticsearch's version type orders them (numbers as numbers, a pre-release before its release, a build after, invalid text after every valid version), also against a string; a column computed from TO_VERSION keeps the type through EVAL and RENAME; MIN/MAX and the MV_ functions compare versions; TO_VERSION of a list converts each value; CASE, COALESCE and MV_APPEND of versions (or of addresses) keep the type",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "TO_TEXT, CONTAINS(text, part), MV_CONTAINS(a, b)",
        Supported,
        "TO_TEXT (snapshot builds only) gives the text unchanged; MV_CONTAINS is true when every value of b is among a's, and for a NULL b (false for a NULL a)",
        "esql/more_functions.slt",
    ),
    c(
        "Functions",
        "TO_STRING, TO_TEXT, TO_DOUBLE, TO_LONG, TO_INTEGER of a multi-valued field",
        Partial,
        "each value converted, in the order Elasticsearch returns a stored list (sorted, keywords each once; a computed list in its own order); a value that does not convert is dropped with a warning (conversion, one per value), none left is NULL; decimal text to whole numbers is dropped where Elasticsearch rounds it; dates to numbers are their milliseconds since the epoch, to text as TO_STRING writes one date; of decimals to whole numbers refused; TO_BOOLEAN, TO_DATETIME, TO_IP and TO_VERSION convert each value too; the other conversions read a multi-valued field as NULL",
        "esql/multivalued.slt",
    ),
    c(
        "Functions",
        "any other function (KQL, QSTR, ST_*, TO_AGGREGATE_METRIC_DOUBLE (a time-series type), URL_ENCODE, URL_DECODE, TO_ASCII, JSON_EXTRACT, MV_INTERSECTION, MV_UNION, ...)",
        Refused,
        "\"function X is not supported yet\"; Rust test: unit test errors_name_the_construct_and_position",
        "",
    ),
    c(
        "Aggregates (STATS)",
        "COUNT(*), COUNT()",
        Supported,
        "rows",
        "esql/semantics.slt",
    ),
    c(
        "Aggregates (STATS)",
        "COUNT(field)",
        Supported,
        "non-NULL values; a stored keyword list counts its distinct values (keyword doc values keep a value once), a numeric or computed list every value",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Aggregates (STATS)",
        "COUNT_DISTINCT(field[, precision])",
        Partial,
        "distinct 64-bit hashes of the values per group (esql_count_distinct): exact but for a hash collision (for n distinct values of one group a chance of about n^2 / 2^65), where Elasticsearch estimates past its precision threshold (HyperLogLog++); the precision argument is accepted and ignored",
        "esql/count_distinct.slt",
    ),
    c(
        "Aggregates (STATS)",
        "SUM(field) of whole numbers",
        Supported,
        "exact through DECIMAL(38, 0); past the long range NULL with a warning (esql_long_sum)",
        "esql/tier3.slt",
    ),
    c(
        "Aggregates (STATS)",
        "SUM(field) of fractions",
        Supported,
        "of NULLs only (SUM(null), AVG of a NULL column): NULL",
        "esql/semantics.slt",
    ),
    c(
        "Aggregates (STATS)",
        "MIN(field), MAX(field), AVG(field), SUM of a multi-valued field",
        Supported,
        "a multi-valued field contributes every value of every row, as Elasticsearch aggregates it (SUM of whole numbers exact, NULL with a warning past the long range); MIN and MAX of ip and version values compare addresses and versions, not text (of a multi-valued one, every value)",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Aggregates (STATS)",
        "MEDIAN(field)",
        Partial,
        "exact (DataFusion's median), where Elasticsearch's is approximate (as PERCENTILE); of a multi-valued field every value",
        "esql/stats_more.slt",
    ),
    c(
        "Aggregates (STATS)",
        "VALUES(field)",
        Supported,
        "the distinct values sorted (Elasticsearch leaves their order open); list fields flattened",
        "esql/tier3.slt",
    ),
    c(
        "Aggregates (STATS)",
        "STD_DEV(field), VARIANCE(field) / STD_VAR(field), PERCENTILE(field, p), MEDIAN_ABSOLUTE_DEVIATION(field), WEIGHTED_AVG(field, weight)",
        Supported,
        "the population deviation and variance; percentiles interpolate linearly between the closest ranks (low + (p / 100 * (n - 1) - i) * (high - low), as Elasticsearch's digest: DataFusion's percentile_cont is not used, it quantizes the step) up to 20,000 values (exact here beyond, where Elasticsearch estimates), NULL outside 0..100, the percentile a constant (25 * 2, an EVAL'd constant); PERCENTILE, MEDIAN_ABSOLUTE_DEVIATION, STD_DEV and VARIANCE of a multi-valued field take every value; WEIGHTED_AVG is SUM(v * w) / SUM(w) with the weights of rows without a value counted (a multi-valued value or weight NULL with a warning), NULL where the weights sum to 0, with WHERE both sums filtered; a constant weight makes it SUM(v) / COUNT(v) (every value of a list; a sum of whole numbers past the long range NULL with a warning), as Elasticsearch's surrogate; a literal weight of 0 or NULL refused",
        "esql/stats_more.slt",
    ),
    c(
        "Aggregates (STATS)",
        "PRESENT(field), ABSENT(field)",
        Supported,
        "whether the group has a value of the field (a multi-valued value is one), or none; COUNT(field) > 0 and = 0",
        "esql/stats_more.slt",
    ),
    c(
        "Aggregates (STATS)",
        "TOP(field, limit[, order])",
        Supported,
        "repeats included, asc unless \"desc\"; one value for a limit of 1; NULL for a group without values; of a multi-valued field every value",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Aggregates (STATS)",
        "TOP(field, limit, order, output)",
        Partial,
        "the output field's values of the top rows by the field, ties by the output in the same order (Elasticsearch's sort of pairs); rows where either is NULL left out; a multi-valued field or output refused",
        "esql/stats_more.slt",
    ),
    c(
        "Aggregates (STATS)",
        "FIRST(value, sort), LAST(value, sort)",
        Supported,
        "the value of the row with the earliest (latest) sort value, NULL if that row's is, a list whole; a multi-valued sort value by its smallest (largest) value; rows without a sort value count only where no row has one; among ties any row (Elasticsearch: the first it meets)",
        "esql/stats_more.slt",
    ),
    c(
        "Aggregates (STATS)",
        "any other aggregate (SAMPLE, ST_CENTROID_AGG, ST_EXTENT_AGG, ...)",
        Refused,
        "\"aggregate X is not supported yet\"",
        "",
    ),
    c(
        "Aggregates (STATS)",
        "STATS with no aggregate in an expression (STATS n = 1)",
        Refused,
        "\"STATS takes aggregate functions: name = SUM(field) BY ...\"",
        "esql/mv_and_stats.slt",
    ),
    c(
        "Warnings and running",
        "warnings: division by zero, multi-valued values read as NULL, SUM past the long range, + - * past the range, math results out of the domain or range, rejected arguments, values a TO_* function cannot convert",
        Supported,
        "counted per kind (division_by_zero, multi_valued, long_overflow, arithmetic_overflow, math_domain, invalid_argument, conversion) and printed once on stderr; on a cluster counted on the executors; an EVAL column nothing uses is not computed and warns of nothing (as Elasticsearch prunes it); Rust test: tests/it/esql.rs warnings_count_multi_valued_reads_and_divisions_by_zero, integer_overflow_is_null_with_a_warning",
        "esql/functions.slt",
    ),
    c(
        "Warnings and running",
        "lakehunt esql --hunt FILE.toml (a hunt file of Elastic's hunting library)",
        Supported,
        "a stray first line sql is skipped with a warning; EQL and osquery SQL queries are skipped; queries that cannot run are reported, exit 2; Rust test: tests/it/cli.rs esql_runs_a_library_hunt_file_and_lists_a_library",
        "",
    ),
    c(
        "Warnings and running",
        "lakehunt hunts --library DIR",
        Supported,
        "whether each ES|QL query of a checkout parses and translates (no data); Rust test: tests/it/cli.rs esql_runs_a_library_hunt_file_and_lists_a_library",
        "",
    ),
    c(
        "Warnings and running",
        "lakehunt esql --explain",
        Supported,
        "the SQL a query becomes and DataFusion's plan; Rust test: tests/it/cli.rs esql_runs_a_library_hunt_file_and_lists_a_library",
        "",
    ),
    c(
        "Warnings and running",
        "the seed hunt's ES|QL text against lakehunt run",
        Supported,
        "same findings, nested, flat and OCSF; Rust test: tests/it/esql.rs the_hunts_esql_form_equals_its_sql_form",
        "",
    ),
];

/// `docs/esql.md`: a section per kind, a row per construct.
#[must_use]
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# ES|QL support\n\n\
         Generated from `src/esql/support.rs` by its test; do not edit by hand \
         (`LAKEHUNT_BLESS=1 cargo test --lib esql::support` rewrites it).\n\n\
         Status: **supported** runs with Elasticsearch's answers; **partial** runs \
         in the forms the notes give and refuses the rest by name; **refused** is \
         an error naming the construct and its `line:column`.\n",
    );
    let (mut supported, mut partial, mut refused) = (0, 0, 0);
    for construct in CONSTRUCTS {
        match construct.status {
            Supported => supported += 1,
            Partial => partial += 1,
            Refused => refused += 1,
        }
    }
    let _ = writeln!(
        out,
        "\n{} constructs: {supported} supported, {partial} partial, {refused} refused.",
        CONSTRUCTS.len()
    );
    let mut kind = "";
    for construct in CONSTRUCTS {
        if construct.kind != kind {
            kind = construct.kind;
            let _ = write!(
                out,
                "\n## {kind}\n\n| construct | status | differences from Elasticsearch | tested in |\n|---|---|---|---|\n"
            );
        }
        let tested = if construct.tested_in.is_empty() {
            "none".to_owned()
        } else {
            format!("`tests/slt/{}`", construct.tested_in)
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {tested} |",
            construct.name,
            construct.status.as_str(),
            construct.notes.replace('|', "\\|"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn docs_esql_md_is_generated_from_the_table() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/esql.md");
        let expected = markdown();
        if std::env::var_os("LAKEHUNT_BLESS").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/esql.md is stale: run LAKEHUNT_BLESS=1 cargo test --lib esql::support"
        );
    }

    #[test]
    fn every_construct_said_tested_is_in_its_slt_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
        let mut wrong = vec![];
        for construct in CONSTRUCTS {
            if construct.tested_in.is_empty() {
                continue;
            }
            let text = std::fs::read_to_string(root.join(construct.tested_in))
                .unwrap_or_else(|e| panic!("{}: {}: {e}", construct.name, construct.tested_in))
                .to_lowercase();
            // The construct's first word, as a query writes it.
            let word = construct
                .name
                .split([' ', '(', '.', ',', '/', ':'])
                .find(|w| !w.is_empty())
                .unwrap_or(construct.name)
                .to_lowercase();
            if !text.contains(&word) {
                wrong.push(format!(
                    "{} ({word}): {}",
                    construct.name, construct.tested_in
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "said to be tested in files that never mention them:\n{}",
            wrong.join("\n")
        );
    }

    #[test]
    fn constructs_are_listed_once_and_grouped_by_kind() {
        let mut seen = std::collections::HashSet::new();
        let mut kinds: Vec<&str> = vec![];
        for construct in CONSTRUCTS {
            assert!(
                seen.insert((construct.kind, construct.name)),
                "{} listed twice",
                construct.name
            );
            if kinds.last() != Some(&construct.kind) {
                assert!(!kinds.contains(&construct.kind), "{} split", construct.kind);
                kinds.push(construct.kind);
            }
        }
    }
}
