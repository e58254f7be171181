//! Embeds every `data/hunts/*.toml` and `data/maps/*.toml` in the binary, so
//! adding a hunt or a field map is adding a file, never a Rust change; and
//! lays out a release binary's functions in the order a hunt runs them.

use std::fmt::Write as _;
use std::path::Path;

/// The package's folder, as Cargo gives it to this run (not as it was when
/// the script was compiled: one target folder may serve two checkouts).
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .expect("cargo sets CARGO_MANIFEST_DIR")
        .into()
}

/// Writes `OUT_DIR/<out>` holding `pub const <name>: &[(&str, &str)]`, the
/// (file name, contents) of each `*.toml` in `data/<dir>`.
fn embed(dir: &str, name: &str, out: &str) {
    let dir = manifest_dir().join("data").join(dir);
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

/// Release builds for x86_64 Linux, which Rust links with LLD, place the
/// functions named in `data/symbol-order.txt` (those a hunt runs, see
/// `benches/symbol-order.sh`) together at the start of the code. The rest of
/// the 98 MB of code is then never paged in: a 10M-event hunt's peak RSS drops
/// by about 45 MiB. Skipped when `RUSTFLAGS` or a configured linker
/// (`RUSTC_LINKER`, from `target.<triple>.linker`) choose another linker (GNU
/// ld does not know the option), or with `LAKEHUNT_NO_SYMBOL_ORDER=1`.
fn order_symbols() {
    let order = manifest_dir().join("data").join("symbol-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=LAKEHUNT_NO_SYMBOL_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let other_linker = ["linker", "fuse-ld", "link-self-contained"]
        .iter()
        .any(|f| flags.contains(f))
        || std::env::var_os("RUSTC_LINKER").is_some();
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && !other_linker
        && std::env::var_os("LAKEHUNT_NO_SYMBOL_ORDER").is_none()
        && order.is_file()
    {
        println!(
            "cargo:rustc-link-arg-bin=lakehunt=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names of an older build (hashes change with the toolchain) are ignored.
        println!("cargo:rustc-link-arg-bin=lakehunt=-Wl,--no-warn-symbol-ordering");
    }
}

fn main() {
    embed("hunts", "HUNTS", "shipped_hunts.rs");
    embed("maps", "MAPS", "shipped_maps.rs");
    order_symbols();
}
