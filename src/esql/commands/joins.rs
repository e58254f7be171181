//! `LOOKUP JOIN` and `INLINE STATS`: commands that join the rows so far with
//! another table (a lookup index, or the rows' own groups).

use arrow::datatypes::DataType;

use super::super::ast::{Expr, LookupOn};
use super::super::{EnrichPolicy, LookupIndex, Result, error, quote};
use super::Pipeline;

/// What a key's type is compared as: ES|QL joins keys of one family.
fn family(t: &DataType) -> &'static str {
    match t {
        DataType::List(item) | DataType::LargeList(item) => family(item.data_type()),
        DataType::Dictionary(_, value) => family(value),
        t if t.is_string() => "keyword",
        // Every numeric type joins every other (Elasticsearch compares at
        // the lookup field's precision; here at the wider type's).
        t if t.is_numeric() => "numeric",
        DataType::Boolean => "boolean",
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => "date",
        _ => "other",
    }
}

fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_))
}

/// A row's list of its groups' values of one aggregate (`list`) as INLINE
/// STATS by a multi-valued key gives it: a group's value that is a list
/// itself (VALUES, TOP) adds its values (inlinestatsWithMixedFiltersAndGroup;
/// flattened whatever the type, as `flatten` keeps a flat list and not every
/// aggregate's type is known), no NULL in it, and none left is NULL
/// (inlinestatsWithFalseFiltersFromRow).
fn groups_values(list: &str) -> String {
    let found = format!("array_compact(flatten(array_compact({list})))");
    format!("CASE WHEN cardinality({found}) > 0 THEN {found} END")
}

/// INLINE STATS' keys as fields, and the indexes of the multi-valued ones.
type InlineKeys = (Vec<(String, Expr)>, Vec<usize>);

impl Pipeline<'_> {
    /// Whether `lookup`'s columns are known: its files were read, with the
    /// data or for a ROW (which reads none); not for an index taken as given
    /// in a check without data.
    fn lookup_known(&self, lookup: &LookupIndex) -> bool {
        self.tables.at_hand || !lookup.columns.is_empty()
    }

    /// The lookup index `name`; without data (a check), any name is taken
    /// as given, with unknown columns.
    fn lookup_index(&self, name: &str, at: usize) -> Result<LookupIndex> {
        if let Some(found) = self.tables.lookups.iter().find(|l| l.name == name) {
            return Ok(found.clone());
        }
        if !self.tables.at_hand {
            return Ok(LookupIndex {
                name: name.to_owned(),
                table: format!("lookup_{name}"),
                columns: vec![],
            });
        }
        Err(error(
            at,
            format!(
                "lookup index {name} is not given (--index {name}=PATH: Parquet files, \
                 folders or globs)"
            ),
        ))
    }

    /// `LOOKUP JOIN index ON ...`: each row once per matching row of the
    /// lookup index (a left join: no match keeps the row, with NULLs). The
    /// index's other columns are added at the end; one of the same name as a
    /// column of the rows replaces it, also where nothing matched.
    pub(super) fn lookup_join(&mut self, index: &str, on: &LookupOn, at: usize) -> Result<String> {
        let mut current = std::mem::take(&mut self.current);
        current = self.pin_rows(current);
        let lookup = self.lookup_index(index, at)?;
        let at_hand = self.lookup_known(&lookup);
        let has = |name: &str| lookup.columns.iter().any(|(c, _)| c == name);
        let type_of = |name: &str| {
            lookup
                .columns
                .iter()
                .find(|(c, _)| c == name)
                .map(|(_, t)| t.clone())
        };
        let (condition, keys) = match on {
            LookupOn::Fields(fields) => {
                let mut terms = vec![];
                for f in fields {
                    if self.known && !self.columns.contains(f) {
                        return Err(self.unknown(f));
                    }
                    if at_hand && !has(f) {
                        return Err(error(
                            at,
                            format!("lookup index {index} has no field {f} to join on"),
                        ));
                    }
                    terms.push(self.join_term(index, f, f, "==", type_of(f).as_ref(), at)?);
                }
                (terms.join(" AND "), fields.clone())
            }
            LookupOn::Condition(cond) => (self.join_condition(index, &lookup, cond, at)?, vec![]),
        };
        // The index's columns, less the keys (the rows keep theirs).
        let added: Vec<(String, Option<DataType>)> = if at_hand {
            lookup
                .columns
                .iter()
                .filter(|(c, _)| !keys.contains(c))
                .map(|(c, t)| (c.clone(), Some(t.clone())))
                .collect()
        } else {
            vec![]
        };
        let replaced: Vec<&String> = added
            .iter()
            .map(|(c, _)| c)
            .filter(|c| self.columns.contains(c))
            .collect();
        // A column the pending order sorts on, replaced: the order is kept.
        current = self.pin_where(current, |k| replaced.iter().any(|c| *c == k));
        let kept = if replaced.is_empty() {
            "q.*".to_owned()
        } else {
            let list: Vec<String> = replaced.iter().map(|c| quote(c)).collect();
            format!("q.* EXCLUDE ({})", list.join(", "))
        };
        let mut select = vec![kept];
        if at_hand {
            select.extend(added.iter().map(|(c, _)| format!("l.{0} AS {0}", quote(c))));
        } else {
            let list: Vec<String> = keys.iter().map(|c| quote(c)).collect();
            select.push(if list.is_empty() {
                "l.*".to_owned()
            } else {
                format!("l.* EXCLUDE ({})", list.join(", "))
            });
        }
        for (name, t) in added {
            self.columns.retain(|c| *c != name);
            self.columns.push(name.clone());
            self.sql.new_column(&name, t);
        }
        // Columns nobody knows of now come: later commands check none.
        if !at_hand {
            self.known = false;
        }
        Ok(format!(
            "SELECT {} FROM ({current}) q LEFT JOIN {} l ON {condition}",
            select.join(", "),
            quote(&lookup.table)
        ))
    }

    /// `q.left op l.right`, as ES|QL compares: a multi-valued value on
    /// either side matches nothing (the rows' side counts a warning), IPs
    /// compare as addresses, and keys of different families are refused.
    fn join_term(
        &self,
        index: &str,
        left: &str,
        right: &str,
        op: &str,
        right_type: Option<&DataType>,
        at: usize,
    ) -> Result<String> {
        let field = Expr::Field(left.to_owned());
        if let (Some(lt), Some(rt)) = (self.sql.infer(&field), right_type)
            && family(&lt) != family(rt)
        {
            return Err(error(
                at,
                format!(
                    "JOIN left field {left} of type {lt} is incompatible with {index}'s \
                     field {right} of type {rt}"
                ),
            ));
        }
        let mut l = self
            .sql
            .text(&field, true)?
            .replace(&quote(left), &format!("q.{}", quote(left)));
        let mut r = format!("l.{}", quote(right));
        if right_type.is_some_and(is_list) {
            r = format!("(CASE WHEN cardinality({r}) = 1 THEN {r}[1] END)");
        }
        if self.sql.is_ip(&field) {
            l = format!("ip_key({l})");
            r = format!("ip_key({r})");
        }
        let op = if op == "==" { "=" } else { op };
        Ok(format!("{l} {op} {r}"))
    }

    /// `a == b AND c >= d`: each comparison takes a field of the rows and
    /// one of the index, each name found on one side only.
    fn join_condition(
        &self,
        index: &str,
        lookup: &LookupIndex,
        cond: &Expr,
        at: usize,
    ) -> Result<String> {
        let shape = || {
            error(
                at,
                "LOOKUP JOIN's condition compares fields (==, !=, <, <=, >, >=), \
                 joined by AND",
            )
        };
        let Expr::Binary(a, op, b) = cond else {
            return Err(shape());
        };
        if *op == "AND" {
            return Ok(format!(
                "{} AND {}",
                self.join_condition(index, lookup, a, at)?,
                self.join_condition(index, lookup, b, at)?
            ));
        }
        let (Expr::Field(a), Expr::Field(b)) = (a.as_ref(), b.as_ref()) else {
            return Err(shape());
        };
        if !["==", "!=", "<", "<=", ">", ">="].contains(op) {
            return Err(shape());
        }
        if !self.known || !self.lookup_known(lookup) {
            return Ok(format!("q.{} {op} l.{}", quote(a), quote(b)));
        }
        let side = |name: &str| -> Result<bool> {
            let left = self.columns.iter().any(|c| c == name);
            let right = lookup.columns.iter().any(|(c, _)| c == name);
            match (left, right) {
                (true, true) => Err(error(
                    at,
                    format!(
                        "{name} is both a column and a field of {index}: \
                         RENAME it before the join"
                    ),
                )),
                (false, false) => Err(self.unknown(name)),
                (left, _) => Ok(left),
            }
        };
        let (left, right, op) = match (side(a)?, side(b)?) {
            (true, false) => (a, b, *op),
            (false, true) => (b, a, mirrored(op)),
            _ => {
                return Err(error(
                    at,
                    format!("{a} {op} {b} must compare a column with a field of {index}"),
                ));
            }
        };
        let t = lookup
            .columns
            .iter()
            .find(|(c, _)| c == right)
            .map(|(_, t)| t);
        self.join_term(index, left, right, op, t, at)
    }
}

/// `op` with its sides swapped (`a < b` is `b > a`).
fn mirrored(op: &str) -> &'static str {
    match op {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        "!=" => "!=",
        _ => "==",
    }
}

impl Pipeline<'_> {
    /// ENRICH's added columns typed (lists where a key may match several
    /// rows); for a range policy, the whole command: each field from every
    /// range that holds the key, by the policy's functions, no join.
    pub(super) fn typed_enrich(
        &mut self,
        p: &EnrichPolicy,
        on: &str,
        with: &[(String, String)],
        kept: &str,
        current: &str,
    ) -> Option<String> {
        // Lists where a key may match several rows: a table with repeated
        // keys or overlapping ranges, or a multi-valued key.
        let key_list = self.sql.is_list(&Expr::Field(on.to_owned()));
        let multi = p.multi_valued || key_list;
        for (new, f) in with {
            let i = p.fields.iter().position(|x| x == f);
            if let Some(t) = i.and_then(|i| p.types.get(i)) {
                let t = if multi {
                    DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
                        "item",
                        t.clone(),
                        true,
                    )))
                } else {
                    t.clone()
                };
                self.sql.types.insert(new.clone(), t);
            }
        }
        if !p.range {
            return key_list.then(|| Self::enrich_each_value(p, on, with, kept, current));
        }
        let added: Vec<String> = with
            .iter()
            .map(|(new, f)| {
                let i = p.fields.iter().position(|x| x == f).unwrap_or(0) + 1;
                format!(
                    "{}(q.{}) AS {}",
                    quote(&format!("{}_range_{i}", p.table)),
                    quote(on),
                    quote(new)
                )
            })
            .collect();
        Some(format!(
            "SELECT {kept}, {} FROM ({current}) q",
            added.join(", ")
        ))
    }

    /// ENRICH on a multi-valued key with a match policy: Elasticsearch looks
    /// every value up and merges the matches' values into one multi-value
    /// (a match whose value is NULL adds nothing; no match is NULL). The
    /// table is collapsed into one row of lists, and each row looks its
    /// values up in it (`enrich_lookup`); a table with repeated keys already
    /// holds a list per key, flattened.
    fn enrich_each_value(
        p: &EnrichPolicy,
        on: &str,
        with: &[(String, String)],
        kept: &str,
        current: &str,
    ) -> String {
        let keys = quote("__lakehunt_enrich_keys");
        let key = quote(&p.match_field);
        let mut lists = vec![format!("array_agg(e.{key}) AS {keys}")];
        let mut added = vec![];
        for (i, (new, f)) in with.iter().enumerate() {
            let values = quote(&format!("__lakehunt_enrich_values_{i}"));
            lists.push(format!("array_agg(e.{}) AS {values}", quote(f)));
            let looked = format!("enrich_lookup(q.{}, g.{keys}, g.{values})", quote(on));
            let looked = if p.multi_valued {
                format!("flatten({looked})")
            } else {
                looked
            };
            added.push(format!("{looked} AS {}", quote(new)));
        }
        format!(
            "SELECT {kept}, {} FROM ({current}) q CROSS JOIN \
             (SELECT {} FROM {} e WHERE e.{key} IS NOT NULL) g",
            added.join(", "),
            lists.join(", "),
            quote(&p.table)
        )
    }

    /// `INLINE STATS aggs [BY keys]`: every row kept, with its group's
    /// aggregates added. The aggregates, then the keys, come last; a column
    /// of the same name as either is replaced (keys keep their values).
    pub(super) fn inline_stats(
        &mut self,
        aggs: &[(String, Expr)],
        keys: &[(String, Expr)],
    ) -> Result<String> {
        let (fields, lists) = self.inline_keys(keys)?;
        // A column the pending order sorts on, replaced: the order is kept.
        let current = std::mem::take(&mut self.current);
        let current = self.pin_rows(current);
        self.current = self.pin_where(current, |k| aggs.iter().any(|(name, _)| name == k));
        let input = self.current.clone();
        let before = (
            self.sql.types.clone(),
            self.columns.clone(),
            self.order.clone(),
            self.pinned,
            self.sql.in_order.clone(),
            (self.bounded, self.rows_sorted),
        );
        // The groups are joined back to the rows: their order is no matter.
        self.bounded = false;
        let grouped = self.stats(aggs, &fields)?;
        let stats_types = std::mem::replace(&mut self.sql.types, before.0);
        let outputs = std::mem::replace(&mut self.columns, before.1);
        (self.order, self.pinned, self.sql.in_order) = (before.2, before.3, before.4);
        (self.bounded, self.rows_sorted) = before.5;
        self.full_text_after = Some("cannot be used after INLINE STATS");
        let mut columns: Vec<String> = self
            .columns
            .iter()
            .filter(|c| !outputs.contains(c))
            .map(|c| quote(c))
            .collect();
        if self.pinned {
            columns.push(quote(super::ORDER));
        }
        let mut kept: Vec<String> = columns.iter().map(|c| format!("q.{c}")).collect();
        if !self.known {
            kept = vec!["q.*".to_owned()];
        }
        if let [_, _, ..] = lists[..] {
            return Ok(self.inline_by_lists(
                &input,
                &grouped,
                &columns,
                &outputs,
                &fields,
                &lists,
                &stats_types,
            ));
        }
        if let Some(&list) = lists.first() {
            let others: Vec<&str> = fields
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != list)
                .map(|(_, (name, _))| name.as_str())
                .collect();
            return Ok(self.inline_by_list(
                &input,
                &grouped,
                kept,
                &outputs,
                (&fields[list].0, &others),
                &stats_types,
            ));
        }
        kept.extend(outputs.iter().map(|c| format!("s.{}", quote(c))));
        let on: Vec<String> = fields
            .iter()
            .map(|(name, _)| {
                let q = quote(name);
                // Parenthesised: SQL's parser binds AND tighter than IS NOT
                // DISTINCT FROM (two keys planned as `a IS NOT DISTINCT FROM
                // (b AND c) ...`).
                format!("(q.{q} IS NOT DISTINCT FROM s.{q})")
            })
            .collect();
        let join = if on.is_empty() {
            "CROSS JOIN".to_owned()
        } else {
            "JOIN".to_owned()
        };
        let on = if on.is_empty() {
            String::new()
        } else {
            format!(" ON {}", on.join(" AND "))
        };
        for name in &outputs {
            self.columns.retain(|c| c != name);
            self.columns.push(name.clone());
            if fields.iter().any(|(k, _)| k == name) {
                continue;
            }
            self.sql.new_column(name, stats_types.get(name).cloned());
        }
        Ok(format!(
            "SELECT {} FROM ({input}) q {join} ({grouped}) s{on}",
            kept.join(", ")
        ))
    }

    /// INLINE STATS' keys as fields (expressions computed first, as EVAL
    /// would), and which of them are multi-valued.
    fn inline_keys(&mut self, keys: &[(String, Expr)]) -> Result<InlineKeys> {
        if self.limited {
            return Err(error(
                self.at,
                "INLINE STATS cannot be used after LIMIT (as in Elasticsearch)",
            ));
        }
        // A key that is an expression is computed first, as EVAL would.
        let computed: Vec<(String, Expr)> = keys
            .iter()
            .filter(|(name, e)| !matches!(e, Expr::Field(f) if f == name))
            .cloned()
            .collect();
        if !computed.is_empty() {
            let at = self.at;
            let computed: Vec<(usize, &(String, Expr))> =
                computed.iter().map(|a| (at, a)).collect();
            self.current = self.eval(&computed)?;
            // `BY y, z = y`: z is a copy of y, one key with it.
            for (_, (name, value)) in &computed {
                self.assigned(name, value);
            }
        }
        let fields: Vec<(String, Expr)> = keys
            .iter()
            .map(|(name, _)| (name.clone(), Expr::Field(name.clone())))
            .collect();
        for (name, _) in &fields {
            if self.known && !self.columns.contains(name) {
                return Err(self.unknown(name));
            }
        }
        // A row whose key is multi-valued gets each of its groups'
        // aggregates, as a list (Elasticsearch's multi-valued result).
        let lists: Vec<usize> = (0..fields.len())
            .filter(|&i| self.sql.is_list(&fields[i].1))
            .collect();
        Ok((fields, lists))
    }

    /// An aggregate INLINE STATS gives a row as a list of its groups' values
    /// (of type `aggregate`): a list of that type, or the same list where the
    /// aggregate is one (its values are added up).
    fn inline_list_column(&mut self, name: &str, aggregate: Option<&DataType>) {
        let list = |t: &DataType| match t {
            DataType::List(_) => t.clone(),
            _ => DataType::new_list(t.clone(), true),
        };
        self.sql.new_column(name, aggregate.map(list));
    }

    /// `outputs` moved to the end of the columns, in their order.
    fn columns_last(&mut self, outputs: &[String]) {
        for name in outputs {
            self.columns.retain(|c| c != name);
            self.columns.push(name.clone());
        }
    }

    /// INLINE STATS by several multi-valued keys (`lists`, indexes into
    /// `fields`; the other fields are keys of one value): each row is in
    /// the group of every combination of its keys' values (each distinct
    /// value once, no values the NULL value) and gets each aggregate as a
    /// list over those groups, the first key's values outermost, each in
    /// the order of the row's list. The rows are numbered and expanded once
    /// per combination in one pass, joined to the groups, and gathered back
    /// per row (its columns taken from any of its combinations); the keys
    /// keep the row's own values. `kept`: the row's other columns, quoted.
    #[expect(
        clippy::too_many_arguments,
        reason = "the state inline_stats hands over, as to inline_by_list"
    )]
    fn inline_by_lists(
        &mut self,
        input: &str,
        grouped: &str,
        kept: &[String],
        outputs: &[String],
        fields: &[(String, Expr)],
        lists: &[usize],
        stats_types: &std::collections::HashMap<String, DataType>,
    ) -> String {
        let row = quote("__lakehunt_row");
        let mut expanded = format!("SELECT *, row_number() OVER () AS {row} FROM ({input})");
        let (mut on, mut order) = (vec![], vec![]);
        // A key that copies another (`EVAL z = y`) takes the other's values:
        // Elasticsearch's alias, grouped as one key (as STATS does).
        let copies = self.copies.clone();
        let mut expanded_as: std::collections::HashMap<&str, String> =
            std::collections::HashMap::new();
        for (i, (name, _)) in fields.iter().enumerate() {
            let key = quote(name);
            let Some(j) = lists.iter().position(|&l| l == i) else {
                on.push(format!("(e.{key} IS NOT DISTINCT FROM s.{key})"));
                continue;
            };
            let same = copies.get(name).unwrap_or(name).as_str();
            if let Some(value) = expanded_as.get(same) {
                on.push(format!("(e.{value} IS NOT DISTINCT FROM s.{key})"));
                continue;
            }
            let at = quote(&format!("__lakehunt_at_{j}"));
            let value = quote(&format!("__lakehunt_value_{j}"));
            let distinct = format!("array_distinct({key})");
            expanded = format!(
                "SELECT *, CASE WHEN cardinality({distinct}) > 0 THEN {distinct}[{at}] END AS {value} \
                 FROM (SELECT *, unnest(generate_series(1, \
                 greatest(CAST(coalesce(cardinality({distinct}), 0) AS BIGINT), 1))) AS {at} \
                 FROM ({expanded}))"
            );
            on.push(format!("(e.{value} IS NOT DISTINCT FROM s.{key})"));
            order.push(format!("e.{at}"));
            expanded_as.insert(same, value);
        }
        let order = order.join(", ");
        let mut gathered = vec![];
        let mut select = vec![];
        for column in kept {
            gathered.push(format!("first_value(e.{column}) AS {column}"));
            select.push(format!("a.{column}"));
        }
        for (i, name) in outputs.iter().enumerate() {
            let q = quote(name);
            if fields.iter().any(|(k, _)| k == name) {
                gathered.push(format!("first_value(e.{q}) AS {q}"));
                select.push(format!("a.{q}"));
                continue;
            }
            let values = quote(&format!("__lakehunt_group_values_{i}"));
            gathered.push(format!("array_agg(s.{q} ORDER BY {order}) AS {values}"));
            select.push(format!("{} AS {q}", groups_values(&format!("a.{values}"))));
            self.inline_list_column(name, stats_types.get(name));
        }
        self.columns_last(outputs);
        // The groups first: the join builds its table on them, not on the
        // expanded rows.
        format!(
            "SELECT {} FROM (SELECT {} FROM ({grouped}) s JOIN ({expanded}) e ON {} \
             GROUP BY e.{row}) a",
            select.join(", "),
            gathered.join(", "),
            on.join(" AND ")
        )
    }

    /// INLINE STATS by one multi-valued key beside `others` (`keys`): the
    /// groups of each combination of the others collapsed into one row of
    /// lists, joined to the rows with those keys, and each row's aggregates
    /// looked up by each value of its multi-valued key (`mv_lookup`, or
    /// `mv_lookup_rows` beside other keys); the keys keep the row's own
    /// values.
    fn inline_by_list(
        &mut self,
        input: &str,
        grouped: &str,
        mut kept: Vec<String>,
        outputs: &[String],
        (key, others): (&str, &[&str]),
        stats_types: &std::collections::HashMap<String, DataType>,
    ) -> String {
        let keys = quote("__lakehunt_group_keys");
        let others: Vec<String> = others.iter().map(|o| quote(o)).collect();
        let mut lists: Vec<String> = others.iter().map(|o| format!("s.{o}")).collect();
        lists.push(format!("array_agg(s.{}) AS {keys}", quote(key)));
        let mut i = 0;
        for name in outputs {
            if name == key || others.contains(&quote(name)) {
                kept.push(format!("q.{}", quote(name)));
                continue;
            }
            let values = quote(&format!("__lakehunt_group_values_{i}"));
            i += 1;
            lists.push(format!("array_agg(s.{}) AS {values}", quote(name)));
            // Beside other keys, each row has the groups of its own.
            let lookup = if others.is_empty() {
                "mv_lookup"
            } else {
                "mv_lookup_rows"
            };
            let found = format!("{lookup}(q.{}, g.{keys}, g.{values})", quote(key));
            kept.push(format!("{} AS {}", groups_values(&found), quote(name)));
            self.inline_list_column(name, stats_types.get(name));
        }
        self.columns_last(outputs);
        let lists = lists.join(", ");
        if others.is_empty() {
            return format!(
                "SELECT {} FROM ({input}) q CROSS JOIN (SELECT {lists} FROM ({grouped}) s) g",
                kept.join(", ")
            );
        }
        let by: Vec<String> = others.iter().map(|o| format!("s.{o}")).collect();
        let on: Vec<String> = others
            .iter()
            .map(|o| format!("(q.{o} IS NOT DISTINCT FROM g.{o})"))
            .collect();
        format!(
            "SELECT {} FROM ({input}) q JOIN (SELECT {lists} FROM ({grouped}) s GROUP BY {}) g ON {}",
            kept.join(", "),
            by.join(", "),
            on.join(" AND ")
        )
    }
}
