//! `lakehunt hunts` and `lakehunt hunts show ID`.

use std::fmt::Write as _;

use clap::{Args, Subcommand};
use lakehunt::hunt::{self, Hunt};
use lakehunt::resolve::FieldMap;

use super::Outcome;

#[derive(Debug, Args)]
pub struct HuntsArgs {
    #[command(subcommand)]
    command: Option<HuntsCommand>,
    /// List the hunt files of a checkout of Elastic's hunting library under DIR
    /// instead, with whether each of their ES|QL queries can run here.
    #[arg(long, value_name = "DIR")]
    library: Option<std::path::PathBuf>,
}

/// `hunts --library DIR`: every hunt file, and per query whether it runs here.
fn library(dir: &std::path::Path) -> anyhow::Result<Outcome> {
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot read the hunting library {}: not a folder",
            dir.display()
        );
    }
    let files = lakehunt::source::files_under(dir, "toml")?;
    let (mut total, mut runnable, mut hunts, mut other) = (0, 0, 0, 0);
    for path in &files {
        let Ok(file) = lakehunt::hunt::library::read_hunt_file(path) else {
            continue; // Not a hunt file (the library holds other TOML too).
        };
        hunts += 1;
        println!("{}: {}", path.display(), file.hunt.name);
        for (i, query) in file.hunt.query.iter().enumerate() {
            let (query, stray) = lakehunt::hunt::library::strip_stray_sql(query);
            let language = lakehunt::hunt::library::query_language(&query);
            if language != "ES|QL" {
                other += 1;
                println!("  query {}: {language}, not ES|QL", i + 1);
                continue;
            }
            total += 1;
            let note = if stray {
                " (after skipping a stray `sql` line)"
            } else {
                ""
            };
            match lakehunt::esql::check(&query) {
                Ok(()) => {
                    runnable += 1;
                    println!("  query {}: runs here{note}", i + 1);
                }
                Err(e) => println!("  query {}: cannot run yet: {e}{note}", i + 1),
            }
        }
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    println!(
        "{runnable} of {} in {} can run here ({} in other languages, EQL or osquery SQL, \
         not counted)",
        plural(total, "ES|QL query", "ES|QL queries"),
        plural(hunts, "hunt file", "hunt files"),
        plural(other, "query", "queries"),
    );
    Ok(Outcome::Clean)
}

#[derive(Debug, Subcommand)]
enum HuntsCommand {
    /// Show a hunt: description, ATT&CK techniques, notes, parameters, fields, SQL.
    Show {
        /// Hunt id.
        #[arg(value_name = "HUNT")]
        id: String,
    },
}

pub fn run(args: &HuntsArgs) -> anyhow::Result<Outcome> {
    if let Some(dir) = &args.library {
        return library(dir);
    }
    match &args.command {
        None => {
            for h in hunt::catalog()? {
                println!(
                    "{:<16} {}  [{}]",
                    h.id(),
                    h.hunt.name,
                    h.hunt.mitre.join(", ")
                );
            }
        }
        Some(HuntsCommand::Show { id }) => print!("{}", describe(&hunt::find(id)?)?),
    }
    Ok(Outcome::Clean)
}

fn describe(h: &Hunt) -> anyhow::Result<String> {
    let l = &h.lakehunt;
    let mut s = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(s, "{}: {}", h.id(), h.hunt.name);
    let _ = writeln!(s, "uuid:         {}", h.hunt.uuid);
    let _ = writeln!(s, "ATT&CK:       {}", h.hunt.mitre.join(", "));
    let _ = writeln!(s, "integration:  {}", h.hunt.integration.join(", "));
    if let Some(from) = &l.adapted_from {
        let _ = writeln!(s, "adapted from: {from}");
    }
    let _ = writeln!(s, "\nDescription\n  {}", h.hunt.description.trim());
    if !h.hunt.notes.is_empty() {
        let _ = writeln!(s, "\nNotes");
        for n in &h.hunt.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    let _ = writeln!(s, "\nParameters (defaults)");
    let _ = writeln!(
        s,
        "  --as-of       now        instant the hunt runs as of (RFC 3339)"
    );
    let _ = writeln!(
        s,
        "  --window      {:<10} look-back on {}: (as-of - window, as-of]",
        l.window, l.time_field
    );
    for (name, p) in &l.parameters {
        let flag = name.replace('_', "-");
        let _ = writeln!(s, "  --{flag:<11} {:<10} {}", p.default, p.help);
    }
    let _ = writeln!(s, "\nRequired fields");
    for (name, f) in &l.fields {
        let why = f
            .missing
            .as_ref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        let _ = writeln!(s, "  {name}: {}{why}", f.kind.describe());
    }
    let ocsf = FieldMap::find("ocsf")?;
    let _ = writeln!(
        s,
        "\nOn OCSF data ({}, OCSF {}), the fields are read as",
        ocsf.map.title, ocsf.map.ocsf_version
    );
    for line in ocsf.describe(l.fields.keys().map(String::as_str)) {
        let _ = writeln!(s, "  {line}");
    }
    let _ = writeln!(s, "\nSQL\n{}", l.sql.trim_end());
    Ok(s)
}
