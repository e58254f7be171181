//! The pipeline: each ES|QL command applied to the SQL built so far.

use std::fmt::Write as _;

use super::*;

#[expect(
    clippy::too_many_lines,
    reason = "one match arm per command over shared pipeline state; splitting it into a fn per command is issue 20's planner rewrite"
)]
pub(super) fn translate_at(query: &str, target: &Target<'_>) -> Result<String> {
    let Target {
        now,
        time_field,
        time_type,
        columns,
        indexes,
        policies,
    } = *target;
    let commands = parse(query)?;
    let types = columns.unwrap_or_default().iter().cloned().collect();
    // The columns after each command, to tell a new EVAL column from a replaced
    // one; `None` (no data at hand) skips the column checks.
    let known = columns.is_some();
    let mut columns: Vec<String> = columns
        .unwrap_or_default()
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let mut sql = Sql {
        now,
        time_type,
        types,
        in_order: std::collections::HashSet::new(),
        computed: std::collections::HashSet::new(),
        full_text: std::cell::Cell::new(Some(FULL_TEXT_WHERE)),
        command_at: std::cell::Cell::new(0),
    };
    let Some((_, Command::From(patterns, metadata))) = commands.first() else {
        return Err(error(0, "a query starts with FROM"));
    };
    let mut select = "*".to_owned();
    let mut scope = String::new();
    if let Some(indexes) = indexes {
        // Each pattern reads its own dataset; `_index` is a column.
        if let Some(missing) = patterns.iter().find(|p| !indexes.contains(p)) {
            return Err(error(
                commands[0].0,
                format!(
                    "index pattern {missing} has no --index (given: {})",
                    indexes.join(", ")
                ),
            ));
        }
        let list: Vec<String> = patterns.iter().map(|p| string_literal(p)).collect();
        scope = format!(" AND \"_index\" IN ({})", list.join(", "));
        if !metadata.iter().any(|(m, _)| m == "_index") {
            "* EXCLUDE (\"_index\")".clone_into(&mut select);
            columns.retain(|c| c != "_index");
        }
    }
    let mut from = "events";
    for (field, at) in metadata {
        match field.as_str() {
            "_index" if indexes.is_some() => {}
            // The event's file and row there: `/lake/part-0.parquet:1841`.
            "_id" => {
                from = "events_id";
                columns.push(field.clone());
            }
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
    // Events after `now` did not exist yet.
    let mut current = format!(
        "SELECT {select} FROM {from} WHERE {} <= arrow_cast({}, '{}'){scope}",
        quote(time_field),
        string_literal(&format_instant(now)),
        time_type
    );
    // SQL keeps no order across subqueries, so a SORT stays pending: it is
    // applied by LIMIT and at the end, as long as its columns survive.
    let mut order: Option<(Vec<String>, String)> = None;
    let order_by = |o: &Option<(Vec<String>, String)>| {
        o.as_ref()
            .map(|(_, clause)| format!(" ORDER BY {clause}"))
            .unwrap_or_default()
    };
    // MATCH runs where Elasticsearch can run it, on the index's documents.
    let mut full_text_after: Option<&'static str> = None;
    for (at, command) in &commands[1..] {
        let at = *at;
        sql.command_at.set(at);
        let unknown = |name: &str| error(at, format!("unknown column {name}"));
        current = match command {
            Command::From(..) => return Err(error(at, "FROM may only start the query")),
            Command::Dissect(field, pattern, separator, at) => {
                let (re, keys) = dissect_regex(pattern).map_err(|m| error(*at, m))?;
                let value = sql.text(&Expr::Field(field.clone()), true)?;
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
                    sql.types
                        .insert(name.clone(), arrow::datatypes::DataType::Utf8);
                    sql.in_order.remove(name);
                    sql.computed.insert(name.clone());
                }
                add_columns(*at, &mut columns, order.as_ref(), &current, &outputs)?
            }
            Command::Grok(field, pattern, at) => {
                let (re, keys) = grok_regex(pattern).map_err(|m| error(*at, m))?;
                let value = sql.text(&Expr::Field(field.clone()), true)?;
                let outputs: Vec<(String, String)> = keys
                    .into_iter()
                    .map(|(name, group, kind)| {
                        use arrow::datatypes::DataType as T;
                        let got = capture(&value, &re, group);
                        let (expr, t) = match kind {
                            GrokType::Text => (got, T::Utf8),
                            GrokType::Int => (format!("try_cast({got} AS INT)"), T::Int32),
                            GrokType::Long => (format!("try_cast({got} AS BIGINT)"), T::Int64),
                            GrokType::Float => (format!("try_cast({got} AS DOUBLE)"), T::Float64),
                            GrokType::Boolean => (format!("(lower({got}) = 'true')"), T::Boolean),
                        };
                        sql.types.insert(name.clone(), t);
                        sql.in_order.remove(&name);
                        sql.computed.insert(name.clone());
                        (name, expr)
                    })
                    .collect();
                add_columns(*at, &mut columns, order.as_ref(), &current, &outputs)?
            }
            Command::Enrich(policy, on, with, at) => {
                // Without data (a check), any policy is taken as given.
                let assumed;
                let found = policies.iter().find(|p| &p.name == policy);
                let found = if found.is_none() && !known {
                    assumed = EnrichPolicy {
                        name: policy.clone(),
                        table: format!("enrich_{policy}"),
                        match_field: on.clone().unwrap_or_else(|| "key".to_owned()),
                        fields: with.iter().map(|(_, f)| f.clone()).collect(),
                    };
                    Some(&assumed)
                } else {
                    found
                };
                let Some(p) = found else {
                    return Err(error(
                        *at,
                        format!(
                            "enrich policy {policy} is not given (--enrich {policy}=PATH, \
                             a Parquet or CSV lookup table whose first column is the key)"
                        ),
                    ));
                };
                let on = on.clone().unwrap_or_else(|| p.match_field.clone());
                if known && !columns.contains(&on) {
                    return Err(unknown(&on));
                }
                let with: Vec<(String, String)> = if with.is_empty() {
                    p.fields.iter().map(|f| (f.clone(), f.clone())).collect()
                } else {
                    with.clone()
                };
                if let Some((_, missing)) = with.iter().find(|(_, f)| !p.fields.contains(f)) {
                    return Err(error(
                        *at,
                        format!("enrich policy {policy} has no field {missing}"),
                    ));
                }
                // A column of the same name is replaced, as EVAL does.
                let replaced: Vec<String> = with
                    .iter()
                    .filter(|(new, _)| columns.contains(new))
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
                    sql.types.remove(new);
                    sql.in_order.remove(new);
                    sql.computed.insert(new.clone());
                    if !columns.contains(new) {
                        columns.push(new.clone());
                    }
                }
                let key = sql
                    .text(&Expr::Field(on.clone()), true)?
                    .replace(&quote(&on), &format!("q.{}", quote(&on)));
                // A pending SORT is applied again later (LIMIT, or the end).
                format!(
                    "SELECT {kept}, {} FROM ({current}) q LEFT JOIN {} e ON {key} = e.{}",
                    added.join(", "),
                    quote(&p.table),
                    quote(&p.match_field),
                )
            }
            Command::MvExpand(field) => {
                if known && !columns.contains(field) {
                    return Err(unknown(field));
                }
                if sql.is_list(&Expr::Field(field.clone())) {
                    let values = sql.sorted_values(&Expr::Field(field.clone()))?;
                    sql.unlist(field);
                    let q = quote(field);
                    format!(
                        "SELECT * EXCLUDE ({q}), {} AS {q} FROM ({current})",
                        unnest_values(&values)
                    )
                } else {
                    current
                }
            }
            Command::Where(cond) => {
                let mut c = String::new();
                sql.allowing_full_text(full_text_after, |sql| sql.expr(cond, &mut c))?;
                format!("SELECT * FROM ({current}) WHERE {c}")
            }
            Command::Keep(fields) => {
                if let Some(missing) = fields.iter().find(|f| known && !columns.contains(f)) {
                    return Err(unknown(missing));
                }
                columns.clone_from(fields);
                let list: Vec<String> = fields.iter().map(|f| quote(f)).collect();
                let sql = format!(
                    "SELECT {} FROM ({current}){}",
                    list.join(", "),
                    order_by(&order)
                );
                if order
                    .as_ref()
                    .is_some_and(|(keys, _)| keys.iter().any(|k| !fields.contains(k)))
                {
                    order = None;
                }
                sql
            }
            Command::Stats(aggs, keys) => {
                order = None;
                // Keys that are expressions are computed first, as EVAL would.
                let mut current = current;
                for (name, key) in keys {
                    match key {
                        Expr::Field(f) if f == name => {
                            if known && !columns.contains(f) {
                                return Err(unknown(f));
                            }
                        }
                        e => {
                            let mut v = String::new();
                            sql.expr(e, &mut v)?;
                            current = add_columns(
                                at,
                                &mut columns,
                                None,
                                &current,
                                &[(name.clone(), v)],
                            )?;
                            match sql.infer(e) {
                                Some(t) => sql.types.insert(name.clone(), t),
                                None => sql.types.remove(name),
                            };
                        }
                    }
                }
                let by: Vec<String> = keys.iter().map(|(name, _)| name.clone()).collect();
                let by = &by;
                columns = aggs
                    .iter()
                    .map(|(n, _)| n.clone())
                    .chain(by.iter().cloned())
                    .collect();
                let mut select = vec![];
                let mut types = std::collections::HashMap::new();
                for (name, agg) in aggs {
                    let mut a = String::new();
                    sql.allowing_full_text(full_text_after, |sql| sql.aggregate(at, agg, &mut a))?;
                    select.push(format!("{a} AS {}", quote(name)));
                    if let Some(t) = sql.infer_aggregate(agg) {
                        types.insert(name.clone(), t);
                    }
                }
                // A row whose key is multi-valued is in the group of each of
                // its values (each once); no values is the NULL group.
                let mut input = current;
                for key in by {
                    let k = Expr::Field(key.clone());
                    if sql.is_list(&k) {
                        let q = quote(key);
                        input = format!(
                            "SELECT * EXCLUDE ({q}), {} AS {q} FROM ({input})",
                            unnest_values(&format!("array_distinct({q})"))
                        );
                        sql.unlist(key);
                    }
                    if let Some(t) = sql.types.get(key) {
                        types.insert(key.clone(), t.clone());
                    }
                }
                sql.types = types;
                sql.in_order.clear();
                full_text_after = Some("cannot be used after STATS");
                select.extend(by.iter().map(|f| quote(f)));
                let group = if by.is_empty() {
                    String::new()
                } else {
                    let keys: Vec<String> = by.iter().map(|f| quote(f)).collect();
                    format!(" GROUP BY {}", keys.join(", "))
                };
                format!("SELECT {} FROM ({input}){group}", select.join(", "))
            }
            Command::Sort(keys) => {
                let list: Vec<String> = keys
                    .iter()
                    .map(|(f, asc, nulls)| {
                        // ES|QL: NULLS LAST on ASC and FIRST on DESC unless said.
                        let first = nulls.unwrap_or(!asc);
                        format!(
                            "{} {} NULLS {}",
                            quote(f),
                            if *asc { "ASC" } else { "DESC" },
                            if first { "FIRST" } else { "LAST" }
                        )
                    })
                    .collect();
                order = Some((keys.iter().map(|k| k.0.clone()).collect(), list.join(", ")));
                current
            }
            Command::Limit(n) => {
                full_text_after = Some("cannot be used after LIMIT");
                format!("SELECT * FROM ({current}){} LIMIT {n}", order_by(&order))
            }
            Command::Eval(assignments) => {
                // Each column may use the ones before it: one projection each; a
                // column of the same name is replaced, as in ES|QL.
                let mut c = current;
                for (name, e) in assignments {
                    let mut v = String::new();
                    sql.expr(e, &mut v)?;
                    c = add_columns(at, &mut columns, order.as_ref(), &c, &[(name.clone(), v)])?;
                    match sql.infer(e) {
                        Some(t) => sql.types.insert(name.clone(), t),
                        None => sql.types.remove(name),
                    };
                    if sql.in_order(e) {
                        sql.in_order.insert(name.clone());
                    } else {
                        sql.in_order.remove(name);
                    }
                    sql.computed.insert(name.clone());
                }
                c
            }
            Command::Drop(fields) => {
                if let Some(missing) = fields.iter().find(|f| known && !columns.contains(f)) {
                    return Err(unknown(missing));
                }
                columns.retain(|c| !fields.contains(c));
                let list: Vec<String> = fields.iter().map(|f| quote(f)).collect();
                let sql = format!(
                    "SELECT * EXCLUDE ({}) FROM ({current}){}",
                    list.join(", "),
                    order_by(&order)
                );
                if order
                    .as_ref()
                    .is_some_and(|(keys, _)| keys.iter().any(|k| fields.contains(k)))
                {
                    order = None;
                }
                sql
            }
            Command::Rename(pairs) => {
                for (old, new) in pairs {
                    match columns.iter_mut().find(|c| *c == old) {
                        Some(slot) => new.clone_into(slot),
                        None if known => return Err(unknown(old)),
                        None => {}
                    }
                    match sql.types.remove(old) {
                        Some(t) => sql.types.insert(new.clone(), t),
                        None => sql.types.remove(new),
                    };
                    if sql.in_order.remove(old) {
                        sql.in_order.insert(new.clone());
                    } else {
                        sql.in_order.remove(new);
                    }
                    if sql.computed.remove(old) {
                        sql.computed.insert(new.clone());
                    } else {
                        sql.computed.remove(new);
                    }
                }
                let old: Vec<String> = pairs.iter().map(|(o, _)| quote(o)).collect();
                let renamed: Vec<String> = pairs
                    .iter()
                    .map(|(o, n)| format!("{} AS {}", quote(o), quote(n)))
                    .collect();
                let sql = format!(
                    "SELECT * EXCLUDE ({}), {} FROM ({current}){}",
                    old.join(", "),
                    renamed.join(", "),
                    order_by(&order)
                );
                // The pending order follows renamed columns.
                if let Some((keys, clause)) = &mut order {
                    for (o, n) in pairs {
                        for key in keys.iter_mut().filter(|k| *k == o) {
                            n.clone_into(key);
                        }
                        *clause = clause.replace(&quote(o), &quote(n));
                    }
                }
                sql
            }
        };
    }
    Ok(match &order {
        Some(_) => format!("SELECT * FROM ({current}){}", order_by(&order)),
        None => current,
    })
}
