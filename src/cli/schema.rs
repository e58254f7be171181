//! `lakehunt schema --data PATH...`: the census of a dataset.

use clap::{Args, ValueEnum};
use lakehunt::source::census::Census;

use super::Outcome;

const SCHEMA_EXAMPLES: &str = "\
Examples:
  lakehunt schema --data /lake/endpoint/
  lakehunt schema --data '/lake/2025-*/' --format json | jq '.hunts[] | select(.can_run | not)'

Reads only the files' footers: fast on any size of archive.";

#[derive(Debug, Args)]
#[command(after_long_help = SCHEMA_EXAMPLES)]
pub struct SchemaArgs {
    /// Parquet files, directories (recursive) or globs, local or in an object
    /// store (s3://, gs://, az://, abfss://, https://); repeatable.
    #[arg(long, short = 'd', value_name = "PATH|URL", required = true, num_args = 1..)]
    data: Vec<String>,
    /// Read object stores without credentials (public buckets).
    #[arg(long)]
    anonymous: bool,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = CensusFormat::Text)]
    format: CensusFormat,
    /// How to read the files (as for `run`): auto, ecs or ocsf.
    #[arg(long, value_enum, default_value_t = super::SchemaArg::Auto)]
    schema: super::SchemaArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CensusFormat {
    Text,
    Json,
}

pub fn run(args: &SchemaArgs) -> anyhow::Result<Outcome> {
    let stores = lakehunt::source::remote::StoreOptions {
        anonymous: args.anonymous,
    };
    let census = Census::take(&args.data, args.schema.into(), &stores)?;
    match args.format {
        CensusFormat::Text => print!("{}", census.to_text()),
        CensusFormat::Json => println!("{}", serde_json::to_string_pretty(&census)?),
    }
    Ok(Outcome::Clean)
}
