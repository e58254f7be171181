//! The pipeline: each ES|QL command applied to the SQL built so far, one
//! method per command.

use std::fmt::Write as _;

mod joins;

use super::ast::{Command, Expr};
use super::expr::Sql;
use super::parser::parse_with_settings;
use super::patterns::{GrokKeys, GrokType, capture, dissect_regex, grok_regex};
use super::{
    Dataset, EnrichPolicy, Error, LookupIndex, Result, Target, add_columns, error, item_type,
    quote, string_literal, unnest_values,
};
use crate::params::format_instant;

/// A query's SQL as its commands build it, and what later commands need to
/// know of the columns, types and order so far.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of the rows so far (known columns, a LIMIT, a pinned order, no column)"
)]
struct Pipeline<'t> {
    sql: Sql<'t>,
    /// ENRICH's policies and LOOKUP JOIN's indexes.
    tables: Tables<'t>,
    /// Whether `events`' columns are known; without data at hand (a check),
    /// column checks are skipped.
    known: bool,
    /// The columns after the last command, to tell a new column from a
    /// replaced one.
    columns: Vec<String>,
    /// The SQL so far.
    current: String,
    /// A SORT not yet applied: its keys and its `ORDER BY` clause. SQL keeps
    /// no order across subqueries, so it is applied by LIMIT and at the end,
    /// as long as its columns survive.
    order: Option<(Vec<String>, String)>,
    /// Why MATCH can no longer run (after LIMIT or STATS), if so: MATCH runs
    /// where Elasticsearch can run it, on the index's documents.
    full_text_after: Option<&'static str>,
    /// Where the command being translated starts.
    at: usize,
    /// Whether a LIMIT (or LIMIT BY) came before (INLINE STATS cannot
    /// follow one).
    limited: bool,
    /// Whether the rows are few and come in an order Elasticsearch defines:
    /// a ROW, or anything after a LIMIT. STATS over them gives its groups in
    /// Elasticsearch's order (see [`Pipeline::stats`]).
    bounded: bool,
    /// Whether the rows come in the pending order: a LIMIT applied it
    /// (without one, Elasticsearch drops a SORT before STATS).
    rows_sorted: bool,
    /// Whether the rows carry [`ORDER`], their place in a SORT whose keys a
    /// later command dropped or replaced (hidden; dropped at the end).
    pinned: bool,
    /// Whether a DROP left no column: the rows then carry [`NONE`] (hidden),
    /// and the end keeps only [`Pipeline::columns`].
    emptied: bool,
    /// How deep the plan is so far: a level per command, and per
    /// projection of a run of EVALs.
    levels: usize,
    /// Columns that hold another column's values unchanged (`EVAL z = y`,
    /// a STATS key `z = y`, then RENAMEs), each to the column it copies,
    /// since the last command that could change either. STATS groups a multi-valued key and its
    /// copies once, as Elasticsearch, whose optimizer makes a copy an
    /// alias (stats.csv-spec statsAggExpressionOnMVGroupingKeyWithAlias).
    copies: std::collections::HashMap<String, String>,
}

/// Plans deeper than this are refused: each level is a subquery of the next,
/// and DataFusion's SQL planner walks the whole plan below a projection for
/// each one, in time that grows with about the cube of the depth where each
/// level adds a column (release build: 100 levels 0.3 s, 150 levels 1.3 s).
/// A run of EVALs is one level per projection, not per command; STATS
/// computes each key that is an expression in a level of its own.
const MAX_LEVELS: usize = 150;

/// An EVAL that replaces a column the EVAL just before it made, reading it
/// once in arithmetic of fields and numbers (`EVAL s = s + x | EVAL s = s +
/// x | ...`), is folded into it: one expression reading what the first
/// read, so a chain of such EVALs is one projection, not one level each
/// (eval.csv-spec repetitiveEval, 322 EVALs). Each value is still computed
/// once a row, so warnings count as before. A folded expression deeper than
/// this is not folded further: DataFusion names each part of an expression
/// by printing it, in time that grows with the square of the depth (debug
/// build: 322 additions 8.8 s, 1,000 additions 92 s).
const MAX_INLINED_DEPTH: usize = 700;

/// An EVAL assignment as it was translated (its SQL, the fields it reads,
/// its depth and level), and the translation's levels before it, to undo it
/// when the next assignment folds it in.
struct Inlined<'a> {
    name: &'a str,
    sql: String,
    reads: Vec<String>,
    depth: usize,
    level: usize,
    level_of: std::collections::HashMap<&'a str, usize>,
    read_at: std::collections::HashMap<String, usize>,
}

/// The name a folded column is read under while its reader is translated:
/// the column's own name after it, so that what its name says (an `ip`)
/// still holds.
const FOLDED: &str = "__lakehunt_folded_";

/// The command at `at` takes the plan past [`MAX_LEVELS`].
fn too_deep(at: usize) -> Error {
    error(
        at,
        format!(
            "the query nests more than {MAX_LEVELS} levels: one per command and per computed \
             STATS key, two more per STATS over a ROW or after a LIMIT, and one per EVAL that \
             reads or replaces a column the EVAL before it made"
        ),
    )
}

/// `v`, the SQL of `e`, cast to INT where `e` is a whole-number literal
/// that fits (or a list of them): ES|QL makes it an integer where SQL makes
/// every literal a long, in ROW and EVAL alike.
fn integer_literal(sql: &Sql<'_>, e: &Expr, v: String) -> String {
    let literal = |e: &Expr| {
        matches!(e, Expr::Int(_)) || matches!(e, Expr::Neg(i) if matches!(**i, Expr::Int(_)))
    };
    let int = Some(arrow::datatypes::DataType::Int32);
    match e {
        e if literal(e) && sql.infer(e) == int => format!("CAST({v} AS INT)"),
        Expr::List(items, _) if items.iter().all(literal) && sql.infer(e).map(item_type) == int => {
            format!("CAST({v} AS INT[])")
        }
        _ => v,
    }
}

/// The other tables a query may join with.
#[derive(Clone, Copy)]
struct Tables<'t> {
    policies: &'t [EnrichPolicy],
    lookups: &'t [LookupIndex],
    /// Whether these are the tables at hand; without (a check), any is
    /// taken as given.
    at_hand: bool,
}

impl<'t> Tables<'t> {
    fn of(target: &Target<'t>) -> Tables<'t> {
        Tables {
            policies: target.policies,
            lookups: target.lookups,
            at_hand: target.columns.is_some(),
        }
    }
}

/// The hidden column that keeps a SORT's order once its keys are gone.
const ORDER: &str = "__lakehunt_order";

/// `input` (rows with [`SEEN`] and the value `each` of their list `list`)
/// with each value seen in the list's order, at its first place there
/// (Elasticsearch sorts lists of more than 20 to 300 values first).
fn seen_in_order(input: &str, list: &str, each: &str) -> String {
    format!(
        "SELECT * EXCLUDE ({seen}), {seen} * 4294967296 + coalesce(array_position({list}, \
         {each}), 0) AS {seen} FROM ({input})",
        seen = quote(SEEN)
    )
}

/// A row's place in the input of a STATS that keeps Elasticsearch's order
/// of groups (hidden; gone after the STATS).
const SEEN: &str = "__lakehunt_seen";

/// The placeholder the rows of a table without columns carry (see
/// [`Pipeline::emptied`]).
const NONE: &str = "__lakehunt_none";

pub(super) fn translate_at(query: &str, target: &Target<'_>) -> Result<String> {
    let (settings, commands) = parse_with_settings(query)?;
    if let Some(zone) = &settings.time_zone
        && super::parser::fixed_offset(zone).is_none()
        && zone.parse::<arrow::array::timezone::Tz>().is_err()
    {
        return Err(error(
            settings.time_zone_at,
            format!(
                "SET time_zone = {zone:?}: not a time zone (an offset such as \"+10:00\", or \
                 a name such as \"Europe/Paris\")"
            ),
        ));
    }
    let mut pipeline = Pipeline::start(&commands, target, settings.time_zone.clone())?;
    if settings.nullify_unmapped && pipeline.known {
        pipeline.nullify(&commands);
    }
    let mut rest = &commands[1..];
    while let Some(((at, command), _)) = rest.split_first() {
        let at = *at;
        pipeline.at = at;
        pipeline.sql.command_at.set(at);
        // EVALs in a row are one EVAL (ES|QL's `EVAL a = 1 | EVAL b = a` is
        // `EVAL a = 1, b = a`), each assignment translated where it was
        // written: its columns go into as few projections as their reads
        // allow, so a long run of EVALs is not as deep a plan.
        let run = rest
            .iter()
            .take_while(|(_, c)| matches!(c, Command::Eval(_)))
            .count();
        if run > 0 {
            let assignments: Vec<(usize, &(String, Expr))> = rest[..run]
                .iter()
                .flat_map(|(at, c)| {
                    let assignments = match c {
                        Command::Eval(assignments) => assignments.as_slice(),
                        _ => &[],
                    };
                    assignments.iter().map(move |a| (*at, a))
                })
                .collect();
            // `eval` refuses the assignment that goes past the depth itself.
            pipeline.current = pipeline.eval(&assignments)?;
            for (_, (name, value)) in &assignments {
                pipeline.assigned(name, value);
            }
            rest = &rest[run..];
            continue;
        }
        rest = &rest[1..];
        pipeline.levels += 1;
        pipeline.current = match command {
            Command::From(..) => return Err(error(at, "FROM may only start the query")),
            Command::Row(..) => return Err(error(at, "ROW may only start the query")),
            Command::Dissect(field, pattern, separator, at) => {
                pipeline.dissect(field, pattern, separator, *at)?
            }
            Command::Grok(field, patterns, at) => pipeline.grok(field, patterns, *at)?,
            Command::Enrich(policy, on, with, at) => {
                pipeline.enrich(policy, on.as_ref(), with, *at)?
            }
            Command::MvExpand(field) => pipeline.mv_expand(field)?,
            Command::Where(cond) => pipeline.filter(cond)?,
            Command::Keep(fields) => pipeline.keep(fields)?,
            Command::Stats(aggs, keys) => pipeline.stats(aggs, keys)?,
            Command::InlineStats(aggs, keys) => pipeline.inline_stats(aggs, keys)?,
            Command::LookupJoin(index, on, at) => pipeline.lookup_join(index, on, *at)?,
            Command::Sort(keys) => pipeline.sort(keys),
            Command::Limit(n) => pipeline.limit(*n),
            Command::LimitBy(n, keys) => pipeline.limit_by(*n, keys)?,
            Command::Eval(_) => unreachable!("EVALs are translated above"),
            Command::Drop(fields) => pipeline.drop(fields)?,
            Command::Rename(pairs) => pipeline.rename(pairs)?,
        };
        match command {
            Command::Rename(pairs) => {
                for (old, new) in pairs {
                    pipeline.renamed(old, new);
                }
            }
            // Rows filtered, ordered or dropped: values unchanged.
            Command::Where(_)
            | Command::Keep(_)
            | Command::Drop(_)
            | Command::Sort(_)
            | Command::Limit(_)
            | Command::LimitBy(..) => {}
            _ => pipeline.copies.clear(),
        }
        pipeline.deepen(at)?;
    }
    if pipeline.emptied && pipeline.columns.is_empty() {
        return Err(error(
            pipeline.at,
            "the query leaves no column (lakehunt returns no table without columns)",
        ));
    }
    Ok(pipeline.finish())
}

impl Pipeline<'_> {
    /// The pipeline after `FROM` (the first of `commands`), for `target`,
    /// its dates in `time_zone` (`None`: UTC).
    fn start<'t>(
        commands: &[(usize, Command)],
        target: &Target<'t>,
        time_zone: Option<String>,
    ) -> Result<Pipeline<'t>> {
        let Target {
            now,
            time_field,
            time_type,
            columns,
            indexes,
            ..
        } = *target;
        let types = columns.unwrap_or_default().iter().cloned().collect();
        // The columns after each command, to tell a new EVAL column from a replaced
        // one; `None` (no data at hand) skips the column checks.
        let known = columns.is_some();
        let mut columns: Vec<String> = columns
            .unwrap_or_default()
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let mut sql = Sql::new(now, time_type, types);
        sql.zone = time_zone;
        let tables = Tables::of(target);
        if let Some((_, Command::Row(values))) = commands.first() {
            return Pipeline::row(sql, values, tables);
        }
        let Some((_, Command::From(patterns, metadata))) = commands.first() else {
            return Err(error(0, "a query starts with FROM or ROW"));
        };
        let mut select = "*".to_owned();
        let mut scope = String::new();
        if let Some(indexes) = indexes {
            let with_index = metadata.iter().any(|(m, _)| m == "_index");
            (select, scope) = Self::datasets(
                patterns,
                indexes,
                with_index,
                commands[0].0,
                &mut columns,
                &mut sql.types,
            )?;
        }
        let mut from = "events";
        for (field, at) in metadata {
            match field.as_str() {
                "_index" if indexes.is_some() => {}
                // The event's file and row there: `/lake/part-0.parquet:1841`.
                // Data with its own `_id` (an ingested export) keeps Elasticsearch's.
                "_id" if sql.types.contains_key("_id") => {}
                "_id" => {
                    from = "events_id";
                    // A FROM over some `--index` datasets lists their columns.
                    if !select.starts_with('*') {
                        select.push_str(", \"_id\"");
                    }
                    columns.push(field.clone());
                }
                "_index" if sql.types.contains_key("_index") => {}
                // One dataset answers every pattern: it is named by them all.
                "_index" => {
                    let _ = write!(
                        select,
                        ", {} AS \"_index\"",
                        string_literal(&patterns.join(","))
                    );
                    columns.push(field.clone());
                }
                "_score" => {
                    return Err(error(
                        *at,
                        "METADATA _score is not supported: relevance scores need Elasticsearch's \
                         index statistics (BM25); MATCH filters rows here but does not score them",
                    ));
                }
                other => {
                    return Err(error(
                        *at,
                        format!("METADATA {other} is not supported yet (only _index and _id)"),
                    ));
                }
            }
        }
        // Events after `now` did not exist yet; rows without a time always did.
        let current = match time_field {
            Some(field) => format!(
                "SELECT {select} FROM {from} WHERE {} <= arrow_cast({}, '{}'){scope}",
                quote(field),
                string_literal(&format_instant(now)),
                time_type
            ),
            None => format!("SELECT {select} FROM {from} WHERE TRUE{scope}"),
        };
        Ok(Pipeline::new(sql, tables, known, columns, current))
    }

    /// The SELECT list and the `_index` condition of a FROM of `patterns`
    /// over `--index` datasets, keeping in `columns` and `types` only the
    /// given patterns' columns (`_index` with METADATA `_index`). As in
    /// Elasticsearch, a wildcard pattern may match nothing beside others that
    /// match (`FROM logs-endpoint.*, logs-sysmon-*` over endpoint data alone);
    /// a name without a wildcard must exist, and so must one of the patterns;
    /// another dataset's field is unknown, as an unmapped one.
    fn datasets(
        patterns: &[String],
        indexes: &[Dataset],
        with_index: bool,
        at: usize,
        columns: &mut Vec<String>,
        types: &mut std::collections::HashMap<String, arrow::datatypes::DataType>,
    ) -> Result<(String, String)> {
        let dataset = |p: &String| indexes.iter().find(|d| &d.pattern == p);
        let given: Vec<&Dataset> = patterns.iter().filter_map(dataset).collect();
        let missing = patterns
            .iter()
            .find(|p| dataset(p).is_none() && (given.is_empty() || !p.contains('*')));
        if let Some(missing) = missing {
            let names: Vec<&str> = indexes.iter().map(|d| d.pattern.as_str()).collect();
            return Err(error(
                at,
                format!(
                    "index pattern {missing} has no --index (given: {})",
                    names.join(", ")
                ),
            ));
        }
        let list: Vec<String> = given.iter().map(|d| string_literal(&d.pattern)).collect();
        let scope = format!(" AND \"_index\" IN ({})", list.join(", "));
        let all = columns.len();
        let known = |c: &str| given.iter().any(|d| d.columns.contains(c));
        columns.retain(|c| if c == "_index" { with_index } else { known(c) });
        types.retain(|name, _| name == "_index" || known(name));
        let select = if columns.len() + usize::from(!with_index) < all {
            columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        } else if with_index {
            "*".to_owned()
        } else {
            "* EXCLUDE (\"_index\")".to_owned()
        };
        Ok((select, scope))
    }

    /// A pipeline over `current` with `columns`, before any command.
    fn new<'t>(
        sql: Sql<'t>,
        tables: Tables<'t>,
        known: bool,
        columns: Vec<String>,
        current: String,
    ) -> Pipeline<'t> {
        Pipeline {
            sql,
            tables,
            known,
            columns,
            current,
            order: None,
            full_text_after: None,
            at: 0,
            limited: false,
            bounded: false,
            rows_sorted: false,
            pinned: false,
            emptied: false,
            levels: 0,
            copies: std::collections::HashMap::new(),
        }
    }

    /// The pipeline after `ROW name = value, ...`: one row of those values
    /// (a name given twice keeps the later), reading no data.
    fn row<'t>(
        mut sql: Sql<'t>,
        values: &[(String, Expr)],
        tables: Tables<'t>,
    ) -> Result<Pipeline<'t>> {
        let mut columns: Vec<String> = vec![];
        let mut select: Vec<String> = vec![];
        let mut types = std::collections::HashMap::new();
        for (i, (name, value)) in values.iter().enumerate() {
            if values[i + 1..].iter().any(|(later, _)| later == name) {
                continue;
            }
            let mut v = String::new();
            sql.expr(value, &mut v)?;
            let t = sql.infer(value);
            v = integer_literal(&sql, value, v);
            select.push(format!("{v} AS {}", quote(name)));
            if let Some(t) = t {
                types.insert(name.clone(), t);
            }
            if sql.in_order(value) {
                sql.in_order.insert(name.clone());
            }
            if sql.is_ip(value) {
                sql.ips.insert(name.clone());
            }
            if sql.is_version(value) {
                sql.versions.insert(name.clone());
            }
            columns.push(name.clone());
        }
        sql.types = types;
        let current = format!("SELECT {}", select.join(", "));
        Ok(Pipeline {
            full_text_after: Some("cannot be used after ROW (there is no index)"),
            bounded: true,
            ..Pipeline::new(sql, tables, true, columns, current)
        })
    }

    /// `SET unmapped_fields = "nullify"`: each field `commands` read that
    /// neither the data has nor a command makes is a NULL column. Reads
    /// after a DISSECT, GROK, ENRICH or LOOKUP JOIN are left to fail as
    /// unknown (the columns those make are not known here).
    fn nullify(&mut self, commands: &[(usize, Command)]) {
        // In order: a name counts as made only for the commands after the
        // one that makes it (`WHERE x > 1 | EVAL x = 2` reads an unmapped x;
        // `BY user.name` reads the field it names).
        fn note<'a>(read: &[&'a str], made: &[&'a str], unmapped: &mut Vec<&'a str>) {
            for &name in read {
                if !made.contains(&name) && !unmapped.contains(&name) {
                    unmapped.push(name);
                }
            }
        }
        let mut made: Vec<&str> = vec![];
        let mut unmapped: Vec<&str> = vec![];
        for (_, command) in commands {
            let mut read: Vec<&str> = vec![];
            match command {
                Command::From(..) | Command::Limit(_) => {}
                Command::Row(assignments) | Command::Eval(assignments) => {
                    for (name, e) in assignments {
                        e.fields(&mut read);
                        note(&read, &made, &mut unmapped);
                        read.clear();
                        made.push(name);
                    }
                }
                Command::Stats(aggs, keys) | Command::InlineStats(aggs, keys) => {
                    for (_, e) in aggs.iter().chain(keys) {
                        e.fields(&mut read);
                    }
                    note(&read, &made, &mut unmapped);
                    read.clear();
                    made.extend(aggs.iter().chain(keys).map(|(name, _)| name.as_str()));
                }
                Command::Where(e) => e.fields(&mut read),
                Command::LimitBy(_, keys) => keys.iter().for_each(|e| e.fields(&mut read)),
                Command::Sort(keys) => read.extend(keys.iter().map(|k| k.0.as_str())),
                Command::Keep(names) | Command::Drop(names) => {
                    read.extend(
                        names
                            .iter()
                            .filter(|n| !n.contains('*'))
                            .map(String::as_str),
                    );
                }
                Command::MvExpand(field) => read.push(field),
                Command::Rename(pairs) => {
                    read.extend(pairs.iter().map(|(old, _)| old.as_str()));
                    note(&read, &made, &mut unmapped);
                    read.clear();
                    made.extend(pairs.iter().map(|(_, new)| new.as_str()));
                }
                Command::Dissect(..)
                | Command::Grok(..)
                | Command::Enrich(..)
                | Command::LookupJoin(..) => break,
            }
            note(&read, &made, &mut unmapped);
        }
        let mut nulls: Vec<String> = vec![];
        for name in unmapped {
            // `.caseless` and `.text` sub-fields resolve on their parent.
            let parent = name
                .strip_suffix(".caseless")
                .or_else(|| name.strip_suffix(".text"));
            if name == "*"
                || self
                    .columns
                    .iter()
                    .any(|c| c == name || Some(c.as_str()) == parent)
                || nulls.iter().any(|n| n == name)
            {
                continue;
            }
            nulls.push(name.to_owned());
        }
        if nulls.is_empty() {
            return;
        }
        let added: Vec<String> = nulls
            .iter()
            .map(|n| format!("NULL AS {}", quote(n)))
            .collect();
        self.current = format!(
            "SELECT *, {} FROM ({})",
            added.join(", "),
            std::mem::take(&mut self.current)
        );
        for name in nulls {
            self.sql
                .types
                .insert(name.clone(), arrow::datatypes::DataType::Null);
            self.columns.push(name);
        }
    }

    fn unknown(&self, name: &str) -> Error {
        error(self.at, format!("unknown column {name}"))
    }

    /// The pending order as an `ORDER BY` clause, or nothing.
    fn order_by(&self) -> String {
        self.order
            .as_ref()
            .map(|(_, clause)| format!(" ORDER BY {clause}"))
            .unwrap_or_default()
    }

    /// The query, in the pending order.
    fn finish(mut self) -> String {
        // Stored addresses as Elasticsearch writes an `ip` field it keeps as
        // 16 bytes: `::ffff:10.0.0.1` is 10.0.0.1, `2001:DB8:0::1` is
        // 2001:db8::1 (esql_ip_text). At the end, not where the rows are
        // read: filters and CIDR_MATCH read any spelling as its address, and
        // rewriting every row first cost the seed hunt a quarter of its time.
        let ips: Vec<String> = self
            .columns
            .iter()
            .filter(|c| self.sql.stored_ip(c))
            .map(|c| format!("esql_ip_text({0}) AS {0}", quote(c)))
            .collect();
        if !ips.is_empty() {
            self.current = format!(
                "SELECT * REPLACE ({}) FROM ({})",
                ips.join(", "),
                self.current
            );
        }
        let columns = if self.emptied {
            // Only the columns made since, not the placeholder.
            self.columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        } else if self.pinned {
            format!("* EXCLUDE ({})", quote(ORDER))
        } else {
            "*".to_owned()
        };
        match &self.order {
            Some(_) => format!(
                "SELECT {columns} FROM ({}){}",
                self.current,
                self.order_by()
            ),
            None if self.pinned || self.emptied => {
                format!("SELECT {columns} FROM ({})", self.current)
            }
            None => self.current,
        }
    }

    /// `current` with the pending order kept in [`ORDER`] (a row's place in
    /// it), for a command about to drop or replace the order's keys: ES|QL
    /// keeps a SORT's order through KEEP, DROP and EVAL.
    fn pin(&mut self, current: String) -> String {
        let Some((_, clause)) = self.order.take() else {
            return current;
        };
        let drop = if self.pinned { Some(ORDER) } else { None };
        self.number_rows(&current, Some(&clause), drop)
    }

    /// `current` with each row's number as [`ORDER`], the pending order:
    /// in `order_by` (an `ORDER BY` list), or the rows' own order; `drop`, a
    /// hidden column `current` carries, is left out.
    fn number_rows(&mut self, current: &str, order_by: Option<&str>, drop: Option<&str>) -> String {
        self.pinned = true;
        self.order = Some((vec![ORDER.to_owned()], quote(ORDER)));
        let kept = match drop {
            Some(column) => format!("* EXCLUDE ({})", quote(column)),
            None => "*".to_owned(),
        };
        // A ROWS frame: the default RANGE frame cannot order by an IP's
        // binary key (`SORT ip | DROP ip`).
        let over = match order_by {
            Some(list) => {
                format!("ORDER BY {list} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW")
            }
            None => String::new(),
        };
        format!(
            "SELECT {kept}, row_number() OVER ({over}) AS {} FROM ({current})",
            quote(ORDER)
        )
    }

    /// `DISSECT field "pattern" [APPEND_SEPARATOR = "sep"]`: a column per key.
    fn dissect(
        &mut self,
        field: &str,
        pattern: &str,
        separator: &str,
        at: usize,
    ) -> Result<String> {
        let current = std::mem::take(&mut self.current);
        let (re, keys) = dissect_regex(pattern).map_err(|m| error(at, m))?;
        let value = self.sql.text(&Expr::Field(field.to_owned()), true)?;
        let outputs: Vec<(String, String)> = keys
            .into_iter()
            .map(|(name, groups)| {
                let expr = match groups.as_slice() {
                    [group] => capture(&value, &re, *group),
                    // Appended keys: NULL, not "", where the pattern does not match.
                    _ => format!(
                        "CASE WHEN regexp_like({value}, {}) THEN concat_ws({}, {}) END",
                        string_literal(&re),
                        string_literal(separator),
                        groups
                            .iter()
                            .map(|g| capture(&value, &re, *g))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                (name, expr)
            })
            .collect();
        for (name, _) in &outputs {
            self.sql
                .new_column(name, Some(arrow::datatypes::DataType::Utf8));
        }
        let current = self.pin_where(current, |k| outputs.iter().any(|(name, _)| name == k));
        add_columns(
            at,
            &mut self.columns,
            self.order.as_ref(),
            &current,
            &outputs,
        )
    }

    /// The select list of the known columns in their order, `column` given
    /// as `value` (an expression with its `AS`), and the hidden order column
    /// where the rows carry one.
    fn columns_in_place(&self, column: &str, value: &str) -> String {
        let mut list: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                if c == column {
                    value.to_owned()
                } else {
                    quote(c)
                }
            })
            .collect();
        if self.pinned {
            list.push(quote(ORDER));
        }
        list.join(", ")
    }

    /// `current` with a few rows' own order (a ROW's, a LIMIT's without a
    /// SORT) pinned as [`ORDER`], for a join about to lose it: the rows and
    /// a later STATS' groups keep it, as in Elasticsearch.
    pub(super) fn pin_rows(&mut self, current: String) -> String {
        if !self.bounded || self.order.is_some() {
            return current;
        }
        self.rows_sorted = true;
        self.number_rows(&current, None, None)
    }

    /// `current` with the pending order fixed first (see `pin`) where it
    /// sorts on a column `sorts_on` picks: one the command replaces or
    /// drops. Elasticsearch keeps the earlier order (dissect.csv-spec
    /// overwriteNameAfterSort, rename.csv-spec shadowingInternal).
    pub(super) fn pin_where(&mut self, current: String, sorts_on: impl Fn(&str) -> bool) -> String {
        if self
            .order
            .as_ref()
            .is_some_and(|(keys, _)| keys.iter().any(|k| sorts_on(k)))
        {
            self.pin(current)
        } else {
            current
        }
    }

    /// `GROK field "pattern"`: a column per named capture, typed as its suffix says.
    fn grok(&mut self, field: &str, patterns: &[String], at: usize) -> Result<String> {
        let current = std::mem::take(&mut self.current);
        let compiled = patterns
            .iter()
            .map(|pattern| grok_regex(pattern).map_err(|m| error(at, m)))
            .collect::<Result<Vec<_>>>()?;
        let value = self.sql.text(&Expr::Field(field.to_owned()), true)?;
        // Each name once, in the order the patterns first capture it, of
        // the type it first has.
        let mut keys: Vec<(String, GrokType)> = vec![];
        for (_, captures) in &compiled {
            for (name, _, kind) in captures {
                if !keys.iter().any(|(known, _)| known == name) {
                    keys.push((name.clone(), *kind));
                }
            }
        }
        let outputs: Vec<(String, String)> = keys
            .into_iter()
            .map(|(name, kind)| {
                use arrow::datatypes::DataType as T;
                let t = match kind {
                    GrokType::Text => T::Utf8,
                    GrokType::Int => T::Int32,
                    GrokType::Long => T::Int64,
                    GrokType::Float => T::Float64,
                    GrokType::Boolean => T::Boolean,
                };
                // A name captured more than once in a pattern is
                // multi-valued: its captures in order, NULLs left out
                // (grok.csv-spec multivalueOutput).
                let several = compiled
                    .iter()
                    .any(|(_, captures)| captures.iter().filter(|c| c.0 == name).count() > 1);
                // The name's value in one pattern's match, each capture
                // converted to its type.
                let got_in = |re: &str, captures: &GrokKeys| -> String {
                    let values: Vec<String> = captures
                        .iter()
                        .filter(|c| c.0 == name)
                        .map(|c| {
                            let got = capture(&value, re, c.1);
                            match kind {
                                GrokType::Text => got,
                                GrokType::Int => format!("try_cast({got} AS INT)"),
                                GrokType::Long => format!("try_cast({got} AS BIGINT)"),
                                GrokType::Float => format!("try_cast({got} AS DOUBLE)"),
                                GrokType::Boolean => format!("(lower({got}) = 'true')"),
                            }
                        })
                        .collect();
                    match values.as_slice() {
                        [] => "NULL".to_owned(),
                        [one] if !several => one.clone(),
                        _ => {
                            let all = format!("array_compact(make_array({}))", values.join(", "));
                            format!("CASE WHEN cardinality({all}) > 0 THEN {all} END")
                        }
                    }
                };
                // One pattern: its captures. Several: the first pattern that
                // matches gives the value, NULL where it does not capture the
                // name.
                let expr = if let [(re, captures)] = compiled.as_slice() {
                    got_in(re, captures)
                } else {
                    let mut case = String::from("CASE");
                    for (re, captures) in &compiled {
                        let _ = write!(
                            case,
                            " WHEN regexp_like({value}, {}) THEN {}",
                            string_literal(re),
                            got_in(re, captures)
                        );
                    }
                    case.push_str(" END");
                    case
                };
                let t = if several { T::new_list(t, true) } else { t };
                self.sql.new_column(&name, Some(t));
                (name, expr)
            })
            .collect();
        let current = self.pin_where(current, |k| outputs.iter().any(|(name, _)| name == k));
        add_columns(
            at,
            &mut self.columns,
            self.order.as_ref(),
            &current,
            &outputs,
        )
    }

    /// `ENRICH policy [ON field] [WITH [new =] field, ...]`: a left join on the policy's lookup table.
    fn enrich(
        &mut self,
        policy: &str,
        on: Option<&String>,
        with: &[(String, String)],
        at: usize,
    ) -> Result<String> {
        let current = std::mem::take(&mut self.current);
        let current = self.pin_rows(current);
        // Without data (a check), any policy is taken as given.
        let assumed;
        let found = self.tables.policies.iter().find(|p| p.name == policy);
        let found = if found.is_none() && !self.tables.at_hand {
            assumed = EnrichPolicy {
                name: policy.to_owned(),
                table: format!("enrich_{policy}"),
                match_field: on.cloned().unwrap_or_else(|| "key".to_owned()),
                fields: with.iter().map(|(_, f)| f.clone()).collect(),
                types: vec![],
                range: false,
                multi_valued: false,
            };
            Some(&assumed)
        } else {
            found
        };
        let Some(p) = found else {
            return Err(error(
                at,
                format!(
                    "enrich policy {policy} is not given (--enrich {policy}=PATH, \
                         a Parquet or CSV lookup table whose first column is the key)"
                ),
            ));
        };
        let on = on.cloned().unwrap_or_else(|| p.match_field.clone());
        // An assumed policy (a check) has no key of its own to check.
        if self.known && self.tables.at_hand && !self.columns.contains(&on) {
            return Err(self.unknown(&on));
        }
        let with: Vec<(String, String)> = if with.is_empty() {
            p.fields.iter().map(|f| (f.clone(), f.clone())).collect()
        } else {
            with.to_vec()
        };
        if let Some((_, missing)) = with.iter().find(|(_, f)| !p.fields.contains(f)) {
            return Err(error(
                at,
                format!("enrich policy {policy} has no field {missing}"),
            ));
        }
        // A column of the same name is replaced, as EVAL does; a pending
        // order on it is kept (its place pinned first).
        let current = self.pin_where(current, |k| with.iter().any(|(new, _)| new == k));
        let replaced: Vec<String> = with
            .iter()
            .filter(|(new, _)| self.columns.contains(new))
            .map(|(new, _)| quote(new))
            .collect();
        let kept = if replaced.is_empty() {
            "q.*".to_owned()
        } else {
            format!("q.* EXCLUDE ({})", replaced.join(", "))
        };
        let added: Vec<String> = with
            .iter()
            .map(|(new, f)| format!("e.{} AS {}", quote(f), quote(new)))
            .collect();
        for (new, _) in &with {
            self.sql.new_column(new, None);
            // A replaced column moves last, as the SQL puts it.
            self.columns.retain(|c| c != new);
            self.columns.push(new.clone());
        }
        if let Some(by_ranges) = self.typed_enrich(p, &on, &with, &kept, &current) {
            return Ok(by_ranges);
        }
        let key = self
            .sql
            .text(&Expr::Field(on.clone()), true)?
            .replace(&quote(&on), &format!("q.{}", quote(&on)));
        // A pending SORT is applied again later (LIMIT, or the end).
        Ok(format!(
            "SELECT {kept}, {} FROM ({current}) q LEFT JOIN {} e ON {key} = e.{}",
            added.join(", "),
            quote(&p.table),
            quote(&p.match_field),
        ))
    }

    /// `MV_EXPAND field`: a row per value of a list.
    fn mv_expand(&mut self, field: &str) -> Result<String> {
        let mut current = std::mem::take(&mut self.current);
        if self.known && !self.columns.iter().any(|c| c == field) {
            return Err(self.unknown(field));
        }
        if self.sql.is_list(&Expr::Field(field.to_owned())) {
            // A pending order on the list (by its smallest or largest value)
            // is fixed first: the expanded rows keep their row's place.
            let list = Expr::Field(field.to_owned());
            // Stored values expand in ascending order. Under a pending SORT
            // each row keeps its place (pinned: its number in the order) and
            // its values that order among themselves, when the rows are
            // sorted again (mv_expand.csv-spec expandAfterSort2: the top-k
            // keeps no order among ties). Lists kept in their own order
            // (SPLIT's) have no such key and are left to the sort.
            let ascending = !self.sql.in_order(&list);
            current = if ascending {
                self.pin(current)
            } else {
                self.pin_where(current, |k| k == field)
            };
            let values = self.sql.sorted_values(&list)?;
            self.sql.unlist(field);
            let q = quote(field);
            if ascending
                && self.pinned
                && let Some((keys, clause)) = &mut self.order
            {
                keys.push(field.to_owned());
                let _ = write!(clause, ", {q} ASC NULLS LAST");
            }
            let expanded = format!("{} AS {q}", unnest_values(&values));
            // The expanded column keeps its place (mv_expand.csv-spec:
            // `row a = [1, 2, 3], b = "b" | mv_expand a` gives a, b).
            let select = if self.known {
                self.columns_in_place(field, &expanded)
            } else {
                format!("* EXCLUDE ({q}), {expanded}")
            };
            Ok(format!("SELECT {select} FROM ({current})"))
        } else {
            Ok(current)
        }
    }

    /// `WHERE condition`: the rows where it is true.
    fn filter(&mut self, cond: &Expr) -> Result<String> {
        let current = std::mem::take(&mut self.current);
        let mut c = String::new();
        self.sql
            .allowing_full_text(self.full_text_after, |sql| sql.expr(cond, &mut c))?;
        Ok(format!("SELECT * FROM ({current}) WHERE {c}"))
    }

    /// `KEEP fields`: those columns, in that order.
    fn keep(&mut self, patterns: &[String]) -> Result<String> {
        let mut current = std::mem::take(&mut self.current);
        if !self.known && patterns.iter().any(|p| p.contains('*')) {
            // No columns at hand (a check): nothing to expand.
            return Ok(current);
        }
        let fields = &if self.known {
            self.expand_keep(patterns)?
        } else {
            dedup(patterns)
        };
        current = self.pin_where(current, |k| k != ORDER && !fields.iter().any(|f| f == k));
        fields.clone_into(&mut self.columns);
        let mut list: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        if self.pinned {
            list.push(quote(ORDER));
        }
        Ok(format!(
            "SELECT {} FROM ({current}){}",
            list.join(", "),
            self.order_by()
        ))
    }

    /// [`Pipeline::copies`] after `name = value`: a column read as is
    /// makes `name` its copy; `name`'s old copies and copy are no more.
    /// `name` given its own values back (`EVAL y = y`, or `EVAL y = z`
    /// where z copies y) changes nothing.
    fn assigned(&mut self, name: &str, value: &Expr) {
        let read = match value {
            Expr::Field(f) => Some(f.as_str()),
            _ => None,
        };
        self.copied(name, read);
    }

    /// [`Pipeline::assigned`] with what `name` now holds: the column `read`
    /// as is, or (`None`) values of its own.
    fn copied(&mut self, name: &str, read: Option<&str>) {
        let source = read.map(|f| self.copies.get(f).map_or(f, String::as_str).to_owned());
        if source.as_deref() == Some(name) {
            return;
        }
        self.copies.retain(|copy, of| copy != name && of != name);
        if let Some(source) = source {
            self.copies.insert(name.to_owned(), source);
        }
    }

    /// [`Pipeline::copies`] after `RENAME old AS new`: what `new` was is
    /// replaced, and `old`'s relations go with it under its new name.
    fn renamed(&mut self, old: &str, new: &str) {
        if old == new {
            return;
        }
        self.copies.retain(|copy, of| copy != new && of != new);
        self.copies = std::mem::take(&mut self.copies)
            .into_iter()
            .map(|(copy, of)| {
                let rename = |c: String| if c == old { new.to_owned() } else { c };
                (rename(copy), rename(of))
            })
            .collect();
    }

    /// STATS' keys `keys` over `input`: each selected (into `select`, its
    /// type into `types`) and grouped by. A row whose key is multi-valued is
    /// in the group of each of its values (each once); no values is the
    /// NULL group. Its aggregates still see all of the row's values
    /// (`COUNT(x) BY x` counts them), so the group's value is a column of
    /// its own; a key that copies a multi-valued one reads the same column.
    /// The input with those columns, and the GROUP BY list.
    fn group_keys(
        &mut self,
        mut input: String,
        keys: &[(String, Expr)],
        seen_over: bool,
        select: &mut Vec<String>,
        types: &mut std::collections::HashMap<String, arrow::datatypes::DataType>,
    ) -> (String, Vec<String>) {
        let copies = self.copies.clone();
        let mut unnested: std::collections::HashMap<&str, String> =
            std::collections::HashMap::new();
        let mut group_by = vec![];
        for (key, _) in keys {
            let q = quote(key);
            if self.sql.is_list(&Expr::Field(key.clone())) {
                let same = copies.get(key).unwrap_or(key);
                let each = if let Some(each) = unnested.get(same.as_str()) {
                    each.clone()
                } else {
                    let each = quote(&format!("__lakehunt_key_{key}"));
                    let list = if self.sql.stored_ip(key) {
                        format!("esql_ip_text({q})")
                    } else {
                        q.clone()
                    };
                    input = format!(
                        "SELECT *, {} AS {each} FROM ({input})",
                        unnest_values(&format!("array_distinct({list})"))
                    );
                    if seen_over && unnested.is_empty() {
                        input = seen_in_order(&input, &q, &each);
                    }
                    unnested.insert(same, each.clone());
                    group_by.push(each.clone());
                    each
                };
                self.sql.unlist(key);
                select.push(format!("{each} AS {q}"));
            } else if self.sql.stored_ip(key) {
                // Spellings of one address are one group (see `finish`).
                select.push(format!("esql_ip_text({q}) AS {q}"));
                group_by.push(format!("esql_ip_text({q})"));
            } else {
                select.push(q.clone());
                group_by.push(q);
            }
            if let Some(t) = self.sql.types.get(key) {
                types.insert(key.clone(), t.clone());
            }
        }
        (input, group_by)
    }

    /// `STATS aggregates BY keys`: one row per group; a multi-valued key puts its row in each value's group.
    fn stats(&mut self, aggs: &[(String, Expr)], keys: &[(String, Expr)]) -> Result<String> {
        let current = std::mem::take(&mut self.current);
        let (seen_over, current) = self.stats_input(current, keys)?;
        if seen_over {
            // The rows numbered, and the groups: two subqueries more.
            self.levels += 2;
            self.deepen(self.at)?;
        }
        let by: Vec<String> = keys.iter().map(|(name, _)| name.clone()).collect();
        let by = &by;
        let (computed, over) = split_aggregates(aggs, keys, self.at)?;
        self.columns = over
            .iter()
            .map(|(n, _)| n.clone())
            .chain(by.iter().cloned())
            .collect();
        let expressions = over
            .iter()
            .any(|(name, e)| !matches!(e, Expr::Field(f) if f == name));
        let mut select = vec![];
        let mut types = std::collections::HashMap::new();
        for (name, agg) in &computed {
            let mut a = String::new();
            self.sql.allowing_full_text(self.full_text_after, |sql| {
                sql.aggregate(self.at, agg, &mut a)
            })?;
            select.push(format!("{a} AS {}", quote(name)));
            if let Some(t) = self.sql.infer_aggregate(agg) {
                types.insert(name.clone(), t);
            }
        }
        let mut order_keys = vec![];
        if seen_over {
            select.push(format!("min({0}) AS {0}", quote(SEEN)));
            order_keys = self.group_order(by);
        }
        let (input, group_by) = self.group_keys(current, keys, seen_over, &mut select, &mut types);
        self.sql.types = types;
        self.sql.in_order.clear();
        self.sql.ips.retain(|c| by.contains(c));
        self.sql.versions.retain(|c| by.contains(c));
        self.full_text_after = Some("cannot be used after STATS");
        let group = if by.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", group_by.join(", "))
        };
        let mut grouped = format!("SELECT {} FROM ({input}){group}", select.join(", "));
        if seen_over {
            grouped = self.numbered_groups(&grouped, &order_keys);
        }
        if !expressions {
            return Ok(grouped);
        }
        let mut outer = vec![];
        let mut types = std::collections::HashMap::new();
        for (name, e) in &over {
            let mut v = String::new();
            self.sql.expr(e, &mut v)?;
            outer.push(format!("{v} AS {}", quote(name)));
            if let Some(t) = self.sql.infer(e) {
                types.insert(name.clone(), t);
            }
        }
        for key in by {
            if let Some(t) = self.sql.types.get(key) {
                types.insert(key.clone(), t.clone());
            }
        }
        self.sql.types = types;
        outer.extend(by.iter().map(|f| quote(f)));
        if self.pinned {
            outer.push(quote(ORDER));
        }
        Ok(format!("SELECT {} FROM ({grouped})", outer.join(", ")))
    }

    /// STATS' input: `current` with its computed keys, and where the
    /// groups keep Elasticsearch's order (over a few rows in a known order),
    /// each row's place in it as [`SEEN`]; whether they do.
    fn stats_input(&mut self, current: String, keys: &[(String, Expr)]) -> Result<(bool, String)> {
        let seen_over = (self.bounded && !keys.is_empty()).then(|| match &self.order {
            Some((_, clause)) if self.rows_sorted => {
                format!("ORDER BY {clause} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW")
            }
            _ => String::new(),
        });
        self.order = None;
        self.rows_sorted = false;
        // Groups have no order of their own; the hidden one is not selected.
        self.pinned = false;
        // Numbered before the keys are computed: a key may replace a
        // column the order reads (`SORT id | LIMIT 5 | STATS BY id = id % 3`).
        let current = match &seen_over {
            Some(over) => format!(
                "SELECT *, row_number() OVER ({over}) AS {} FROM ({current})",
                quote(SEEN)
            ),
            None => current,
        };
        Ok((seen_over.is_some(), self.computed_keys(current, keys)?))
    }

    /// Elasticsearch's order of the groups of keys `by` over rows that
    /// carry [`SEEN`]: one key gives the NULL group first (booleans NULL,
    /// false, true, whatever came first), then the order each group was
    /// first seen; several keys the order first seen.
    fn group_order(&self, by: &[String]) -> Vec<String> {
        let mut order = vec![];
        if let [key] = by {
            let q = quote(key);
            // A list of booleans too (the key's values are grouped).
            if self
                .sql
                .types
                .get(key)
                .is_some_and(|t| super::item_type(t.clone()) == arrow::datatypes::DataType::Boolean)
            {
                order.push(format!("{q} ASC NULLS FIRST"));
            } else {
                order.push(format!("{q} IS NULL DESC"));
            }
        }
        order.push(format!("{} ASC", quote(SEEN)));
        order
    }

    /// `grouped` (groups with the first [`SEEN`] of each) with each
    /// group's place in `order` pinned as [`ORDER`], the pending order.
    fn numbered_groups(&mut self, grouped: &str, order: &[String]) -> String {
        self.rows_sorted = true;
        self.number_rows(grouped, Some(&order.join(", ")), Some(SEEN))
    }

    /// `current` with STATS' keys that are expressions computed first, as
    /// EVAL would; a key that is a field must be one.
    fn computed_keys(&mut self, mut current: String, keys: &[(String, Expr)]) -> Result<String> {
        // Keys computed so far: a key reading one is not taken as its copy.
        let mut made: Vec<&str> = vec![];
        for (name, key) in keys {
            match key {
                Expr::Field(f) if f == name => {
                    if self.known && !self.columns.contains(f) {
                        return Err(self.unknown(f));
                    }
                }
                e => {
                    // A nested SELECT each: each counts toward the depth.
                    self.levels += 1;
                    self.deepen(self.at)?;
                    let mut v = String::new();
                    self.sql.expr(e, &mut v)?;
                    current = add_columns(
                        self.at,
                        &mut self.columns,
                        None,
                        &current,
                        &[(name.clone(), v)],
                    )?;
                    match self.sql.infer(e) {
                        Some(t) => self.sql.types.insert(name.clone(), t),
                        None => self.sql.types.remove(name),
                    };
                    // `BY y, z = y`: z a copy of y (Pipeline::copies).
                    let read = match e {
                        Expr::Field(f) if !made.contains(&f.as_str()) => Some(f.as_str()),
                        _ => None,
                    };
                    self.copied(name, read);
                    made.push(name);
                }
            }
        }
        Ok(current)
    }

    /// `SORT keys`: recorded, and applied by LIMIT and at the end (SQL keeps no order across subqueries).
    fn sort(&mut self, keys: &[(String, bool, Option<bool>)]) -> String {
        let current = std::mem::take(&mut self.current);
        let list: Vec<String> = keys
            .iter()
            .map(|(f, asc, nulls)| {
                // ES|QL: NULLS LAST on ASC and FIRST on DESC unless said.
                let first = nulls.unwrap_or(!asc);
                // IPs sort as addresses (Elasticsearch's order), not as text.
                let key = if self.sql.is_ip(&Expr::Field(f.clone())) {
                    format!("ip_key(mv_single({}))", quote(f))
                } else if self.sql.is_version(&Expr::Field(f.clone())) {
                    format!("version_key(mv_single({}))", quote(f))
                } else if self.sql.is_list(&Expr::Field(f.clone())) {
                    // A multi-valued value sorts by its smallest value
                    // ascending, its largest descending, as Elasticsearch
                    // sorts them (limit.csv-spec sortLimitByNullsLast).
                    let of_list = if *asc { "array_min" } else { "array_max" };
                    format!("{of_list}({})", quote(f))
                } else {
                    quote(f)
                };
                format!(
                    "{key} {} NULLS {}",
                    if *asc { "ASC" } else { "DESC" },
                    if first { "FIRST" } else { "LAST" }
                )
            })
            .collect();
        self.order = Some((keys.iter().map(|k| k.0.clone()).collect(), list.join(", ")));
        self.rows_sorted = false;
        current
    }

    /// `LIMIT n`: the first `n` rows in the pending order.
    fn limit(&mut self, n: i64) -> String {
        let current = std::mem::take(&mut self.current);
        self.full_text_after = Some("cannot be used after LIMIT");
        self.limited = true;
        self.bounded = true;
        self.rows_sorted = self.order.is_some();
        format!("SELECT * FROM ({current}){} LIMIT {n}", self.order_by())
    }

    /// `LIMIT n BY key, ...`: the first `n` rows of each group of equal keys
    /// (expressions; a NULL key is a group, a multi-valued one is its whole
    /// list), in the pending order; the order is kept.
    fn limit_by(&mut self, n: i64, keys: &[Expr]) -> Result<String> {
        let current = std::mem::take(&mut self.current);
        // A LIMIT too: INLINE STATS cannot follow it. Without a total order
        // its rows are any n of each group, and INLINE STATS reads its
        // input twice (the rows, and their groups), which could keep
        // different rows.
        self.limited = true;
        let mut partition = vec![];
        for key in keys {
            partition.push(self.sql.text(key, false)?);
        }
        let order = self
            .order
            .as_ref()
            .map(|(_, clause)| format!(" ORDER BY {clause}"))
            .unwrap_or_default();
        let rank = quote("__lakehunt_limit_by");
        Ok(format!(
            "SELECT * EXCLUDE ({rank}) FROM (SELECT *, row_number() OVER (PARTITION BY {}{order} \
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {rank} FROM ({current})) \
             WHERE {rank} <= {n}{}",
            partition.join(", "),
            self.order_by()
        ))
    }

    /// Refuses a plan deeper than [`MAX_LEVELS`], at the command at `at`.
    fn deepen(&self, at: usize) -> Result<()> {
        if self.levels > MAX_LEVELS {
            return Err(too_deep(at));
        }
        Ok(())
    }

    /// `EVAL name = expr, ...`, or a run of EVALs (each assignment with
    /// where its command starts): each column may use the ones before it.
    #[expect(
        clippy::too_many_lines,
        reason = "one pass over the assignments: folding, levels, then the columns' order"
    )]
    fn eval(&mut self, assignments: &[(usize, &(String, Expr))]) -> Result<String> {
        let mut current = std::mem::take(&mut self.current);
        // A column the pending order sorts on, replaced: the order is kept.
        current = self.pin_where(current, |k| {
            assignments.iter().any(|(_, (name, _))| name == k)
        });
        // Each column may use the ones before it; a column of the same name
        // is replaced, as in ES|QL. A projection per level: an assignment
        // goes one level past those of this EVAL it reads or replaces, so
        // `EVAL a1 = a + 1, ..., a300 = a + 300` is one projection, not 300
        // nested ones (planning grows faster than linearly in the depth).
        let mut levels: Vec<Vec<(String, String)>> = vec![];
        let mut level_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        // The highest level that reads each name: a replacement of it goes
        // no lower (a projection's outputs all read its input).
        let mut read_at: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        // The assignment before, to fold into the next when that one
        // replaces it and reads it once (see `Inlined`).
        let mut previous: Option<Inlined<'_>> = None;
        for &(at, (name, e)) in assignments {
            self.sql.command_at.set(at);
            let mut v = String::new();
            self.sql.expr(e, &mut v)?;
            let mut reads: Vec<String> = {
                let mut reads = vec![];
                e.fields(&mut reads);
                reads.into_iter().map(str::to_owned).collect()
            };
            let mut depth = e.depth();
            if let Some(prev) = previous.take()
                && prev.name == name.as_str()
                && prev.depth + depth <= MAX_INLINED_DEPTH
                && let Some(folded) = self.fold(name, e, &v, &prev.sql)?
            {
                // Undo the assignment before: this one computes both.
                if let Some(outputs) = levels.get_mut(prev.level) {
                    outputs.pop();
                }
                level_of = prev.level_of;
                read_at = prev.read_at;
                reads.retain(|r| r != name);
                reads.extend(prev.reads);
                depth += prev.depth;
                v = folded;
            }
            let before = Inlined {
                name,
                sql: String::new(),
                reads: reads.clone(),
                depth,
                level: 0,
                level_of: level_of.clone(),
                read_at: read_at.clone(),
            };
            let v = integer_literal(&self.sql, e, v);
            let level = level_of
                .iter()
                .filter(|(defined, _)| {
                    **defined == name.as_str()
                        || reads.iter().any(|r| {
                            r == **defined
                                || r.strip_prefix(**defined)
                                    .is_some_and(|s| s.starts_with('.'))
                        })
                })
                .map(|(_, l)| l + 1)
                .max()
                .unwrap_or(0);
            let read_later = read_at
                .iter()
                .filter(|(r, _)| {
                    **r == name.as_str()
                        || r.strip_prefix(name.as_str())
                            .is_some_and(|s| s.starts_with('.'))
                })
                .map(|(_, l)| *l)
                .max()
                .unwrap_or(0);
            let level = level.max(read_later);
            if self.levels + level + 1 > MAX_LEVELS {
                return Err(too_deep(at));
            }
            for r in reads {
                let at = read_at.entry(r).or_insert(level);
                *at = (*at).max(level);
            }
            level_of.insert(name, level);
            previous = Some(Inlined {
                level,
                sql: v.clone(),
                ..before
            });
            if levels.len() <= level {
                levels.resize(level + 1, vec![]);
            }
            levels[level].push((name.clone(), v));
            self.note_computed(name, e);
        }
        // ES|QL's order: each assigned column last, in the order assigned.
        let mut expected = self.columns.clone();
        for (_, (name, _)) in assignments {
            expected.retain(|c| c != name);
            expected.push(name.clone());
        }
        // A level emptied by folding its only assignment into the next.
        levels.retain(|outputs| !outputs.is_empty());
        self.levels += levels.len();
        let mut made = self.columns.clone();
        let mut c = current;
        for outputs in &levels {
            c = add_columns(self.at, &mut self.columns, self.order.as_ref(), &c, outputs)?;
            for (name, _) in outputs {
                made.retain(|c| c != name);
                made.push(name.clone());
            }
        }
        if made != expected {
            let mut list: Vec<String> = expected.iter().map(|f| quote(f)).collect();
            if self.pinned {
                list.push(quote(ORDER));
            }
            c = format!("SELECT {} FROM ({c})", list.join(", "));
        }
        self.columns = expected;
        Ok(c)
    }

    /// Records what column `name`, computed as `e`, is: its type, and
    /// whether it is in order, an IP, a version.
    fn note_computed(&mut self, name: &str, e: &Expr) {
        match self.sql.infer(e) {
            Some(t) => self.sql.types.insert(name.to_owned(), t),
            None => self.sql.types.remove(name),
        };
        let marks = [
            self.sql.in_order(e),
            self.sql.is_ip(e),
            self.sql.is_version(e),
        ];
        let sets = [
            &mut self.sql.in_order,
            &mut self.sql.ips,
            &mut self.sql.versions,
        ];
        for (set, on) in sets.into_iter().zip(marks) {
            if on {
                set.insert(name.to_owned());
            } else {
                set.remove(name);
            }
        }
        self.sql.computed.insert(name.to_owned());
    }

    /// The SQL of `e`, which assigns `name` and reads it once, with that
    /// read replaced by `previous`, the SQL of the assignment of `name` just
    /// before (see [`MAX_INLINED_DEPTH`]); `None` where the read is not a
    /// plain column reference: `e` is translated again with the column
    /// under another name, and that translation must differ from `plain`
    /// (its SQL) only in that name, once.
    fn fold(
        &mut self,
        name: &str,
        e: &Expr,
        plain: &str,
        previous: &str,
    ) -> Result<Option<String>> {
        // Only arithmetic of fields and numbers: DataFusion's simplifier
        // copies some arguments (COALESCE becomes a CASE that reads its first
        // argument twice), and a chain folded through such a copy doubles
        // with each EVAL.
        fn arithmetic(e: &Expr) -> bool {
            match e {
                Expr::Field(_) | Expr::Int(_) | Expr::Float(_) => true,
                Expr::Neg(inner) => arithmetic(inner),
                Expr::Binary(l, op, r) => {
                    matches!(*op, "+" | "-" | "*") && arithmetic(l) && arithmetic(r)
                }
                _ => false,
            }
        }
        if !arithmetic(e) || !e.reads_once(name) {
            return Ok(None);
        }
        let stand_in = format!("{FOLDED}{name}");
        if self.sql.multi_field(name).is_some() || self.sql.multi_field(&stand_in).is_some() {
            return Ok(None);
        }
        let renamed = e.rewrite(&mut |part| {
            matches!(part, Expr::Field(f) if f == name).then(|| Expr::Field(stand_in.clone()))
        });
        self.sql.copy_column(name, &stand_in);
        let mut v = String::new();
        let translated = self.sql.expr(&renamed, &mut v);
        // Nothing is known of "": the stand-in is forgotten.
        self.sql.copy_column("", &stand_in);
        translated?;
        let (quoted, stand_in) = (quote(name), quote(&stand_in));
        if v.matches(&stand_in).count() != 1 || v.replace(&stand_in, &quoted) != plain {
            return Ok(None);
        }
        Ok(Some(v.replacen(&stand_in, &format!("({previous})"), 1)))
    }

    /// `DROP fields`.
    fn drop(&mut self, patterns: &[String]) -> Result<String> {
        // Elasticsearch refuses this one at parse time.
        if patterns.iter().any(|p| p == "*") {
            return Err(error(self.at, "DROP *: removing all fields is not allowed"));
        }
        let mut current = std::mem::take(&mut self.current);
        if !self.known && patterns.iter().any(|p| p.contains('*')) {
            return Ok(current);
        }
        let mut fields = vec![];
        for pattern in patterns {
            let matched = self.matching(pattern)?;
            fields.extend(matched);
        }
        let fields = &dedup(&fields);
        current = self.pin_where(current, |k| fields.iter().any(|f| f == k));
        if self.known && fields.len() == self.columns.len() {
            // A table without columns, as Elasticsearch keeps one: its rows
            // hold a placeholder until a later EVAL or STATS makes columns
            // (drop.csv-spec dropAllColumns).
            self.emptied = true;
            self.columns.clear();
            let order = if self.pinned {
                format!("{}, ", quote(ORDER))
            } else {
                String::new()
            };
            return Ok(format!(
                "SELECT {order}CAST(NULL AS BOOLEAN) AS {} FROM ({current}){}",
                quote(NONE),
                self.order_by()
            ));
        }
        self.columns.retain(|c| !fields.contains(c));
        let list: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        Ok(format!(
            "SELECT * EXCLUDE ({}) FROM ({current}){}",
            list.join(", "),
            self.order_by()
        ))
    }

    /// The columns `pattern` names: itself, or those its `*`s match (an
    /// error when none does).
    fn matching(&self, pattern: &str) -> Result<Vec<String>> {
        if !pattern.contains('*') {
            if self.known && !self.columns.iter().any(|c| c == pattern) {
                return Err(self.unknown(pattern));
            }
            return Ok(vec![pattern.to_owned()]);
        }
        let found: Vec<String> = self
            .columns
            .iter()
            .filter(|c| wildcard_match(pattern, c))
            .cloned()
            .collect();
        if found.is_empty() {
            return Err(error(self.at, format!("no column matches {pattern}")));
        }
        Ok(found)
    }

    /// KEEP's columns in order: a column named exactly goes where its name
    /// is; one only a wildcard matches goes where the last matching wildcard
    /// is (ES|QL's precedence); columns of one place keep their order.
    fn expand_keep(&self, patterns: &[String]) -> Result<Vec<String>> {
        for pattern in patterns {
            self.matching(pattern)?;
        }
        let owner = |column: &String| -> Option<usize> {
            patterns.iter().rposition(|p| p == column).or_else(|| {
                patterns
                    .iter()
                    .rposition(|p| p.contains('*') && wildcard_match(p, column))
            })
        };
        let mut placed: Vec<(usize, usize, String)> = self
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| owner(c).map(|at| (at, i, c.clone())))
            .collect();
        placed.sort_by_key(|(at, i, _)| (*at, *i));
        Ok(placed.into_iter().map(|(_, _, c)| c).collect())
    }

    /// `RENAME old AS new, ...`: one pair after another, as RENAME's
    /// reference defines it ("equivalent to multiple sequential RENAME
    /// commands"): `a AS b, b AS c` ends with `c` holding `a`'s values, and
    /// of several columns renamed to one name the last is kept. The pending
    /// order follows renamed columns.
    fn rename(&mut self, pairs: &[(String, String)]) -> Result<String> {
        let mut out = std::mem::take(&mut self.current);
        for (i, (old, new)) in pairs.iter().enumerate() {
            // A nested SELECT each: each past the first counts toward the depth.
            if i > 0 {
                self.levels += 1;
                self.deepen(self.at)?;
            }
            out = self.rename_one(&out, old, new)?;
        }
        Ok(out)
    }

    fn rename_one(&mut self, current: &str, old: &str, new: &str) -> Result<String> {
        if !self.columns.iter().any(|c| c == old) && self.known {
            return Err(self.unknown(old));
        }
        // A column the pending order sorts on, replaced: the order is kept
        // (rename.csv-spec shadowingInternal).
        let shadows = old != new && self.columns.iter().any(|c| c == new);
        let current = self.pin_where(current.to_owned(), |k| shadows && k == new);
        // A column already of the new name is replaced by the renamed one.
        let mut excluded = vec![quote(old)];
        if old != new && self.columns.iter().any(|c| c == new) {
            self.columns.retain(|c| c != new);
            excluded.push(quote(new));
        }
        if let Some(slot) = self.columns.iter_mut().find(|c| *c == old) {
            new.clone_into(slot);
        }
        self.sql.rename_column(old, new);
        // The renamed column keeps its place (Elasticsearch's rename.csv-spec:
        // `row a = 1, b = 2 | rename a as c` gives c, b).
        let select = if self.known {
            self.columns_in_place(new, &format!("{} AS {}", quote(old), quote(new)))
        } else {
            format!(
                "* EXCLUDE ({}), {} AS {}",
                excluded.join(", "),
                quote(old),
                quote(new)
            )
        };
        let out = format!("SELECT {select} FROM ({current}){}", self.order_by());
        // The pending self.order follows the renamed column.
        if let Some((keys, clause)) = &mut self.order {
            for key in keys.iter_mut().filter(|k| *k == old) {
                new.clone_into(key);
            }
            *clause = clause.replace(&quote(old), &quote(new));
        }
        Ok(out)
    }
}

/// Named expressions: (column, expression).
type Named = Vec<(String, Expr)>;

/// STATS' aggregates, an expression over aggregates (`AVG(a) / 2 + MAX(b)`)
/// split into its aggregates under hidden names: what to compute per group,
/// and each output column as an expression over those.
/// An expression may also read the keys (`e = LENGTH(f) + 1 BY f =
/// first_name`), which are one value per group, and repeat a computed key's
/// expression, which reads the key (`1 + BUCKET(salary, 1000.) BY b =
/// BUCKET(salary, 1000.)`, bucket.csv-spec reuseGroupingFunction).
fn split_aggregates(
    aggs: &[(String, Expr)],
    keys: &[(String, Expr)],
    at: usize,
) -> Result<(Named, Named)> {
    let mut computed: Named = vec![];
    let mut over: Named = vec![];
    for (i, (name, agg)) in aggs.iter().enumerate() {
        // A name given twice keeps the later aggregate, as in ES|QL.
        if aggs[i + 1..].iter().any(|(later, _)| later == name) {
            continue;
        }
        if agg.is_aggregate() {
            computed.push((name.clone(), agg.clone()));
            over.push((name.clone(), Expr::Field(name.clone())));
            continue;
        }
        // Outside aggregates, a computed key's expression is the key.
        let agg = &agg.rewrite(&mut |e| {
            keys.iter()
                .find(|(_, key)| {
                    // A key computed from fields: a constant one (BY k = 1)
                    // would take every equal literal (ROUND(x, 1)).
                    let mut fields = vec![];
                    key.fields(&mut fields);
                    !matches!(key, Expr::Field(_)) && !fields.is_empty() && key.same(e)
                })
                .map(|(name, _)| Expr::Field(name.clone()))
        });
        let mut found = false;
        let expr = agg.map_aggregates(&mut |call| {
            found = true;
            let hidden = format!("__lakehunt_agg_{}", computed.len());
            computed.push((hidden.clone(), call.clone()));
            Expr::Field(hidden)
        });
        let mut fields = vec![];
        agg.fields(&mut fields);
        let of_keys = !fields.is_empty() && fields.iter().all(|f| keys.iter().any(|(k, _)| k == f));
        if !found && !of_keys {
            return Err(error(
                at,
                "STATS takes aggregate functions: name = SUM(field) BY ...",
            ));
        }
        over.push((name.clone(), expr));
    }
    Ok((computed, over))
}

/// `names` without repeats, first occurrence kept.
fn dedup(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for name in names {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

/// Whether `name` matches `pattern`, whose `*` stands for any characters.
pub(super) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}
