//! Embeds every `data/hunts/*.toml` and `data/maps/*.toml` in the binary, so
//! adding a hunt or a field map is adding a file, never a Rust change.

use std::fmt::Write as _;
use std::path::Path;

/// Writes `OUT_DIR/<out>` holding `pub const <name>: &[(&str, &str)]`, the
/// (file name, contents) of each `*.toml` in `data/<dir>`.
fn embed(dir: &str, name: &str, out: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(dir);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} exists in the source tree: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut text = format!(
        "/// (file name, contents) of each file of `{}`.\npub const {name}: &[(&str, &str)] = &[\n",
        dir.display()
    );
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file names are UTF-8");
        writeln!(
            text,
            "    ({file:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    text.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(out);
    std::fs::write(target, text).expect("OUT_DIR is writable");
}

fn main() {
    embed("hunts", "HUNTS", "shipped_hunts.rs");
    embed("maps", "MAPS", "shipped_maps.rs");
}
