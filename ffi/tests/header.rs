//! `include/sandbox.h` is generated from this crate and committed; this test
//! regenerates it and fails when the committed file differs, so the header
//! can never drift from the library. Set `SBX_BLESS=1` to rewrite it.

use std::path::Path;

/// The version macros, from Cargo metadata like `sbx_version_number()`.
fn version_macros() -> String {
    let (major, minor, patch) =
        (env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_PATCH"));
    format!(
        "\n#define SBX_VERSION_MAJOR {major}\n#define SBX_VERSION_MINOR {minor}\n#define SBX_VERSION_PATCH {patch}\n\
         #define SBX_VERSION_STRING \"{}\"\n\
         /* MAJOR * 1000000 + MINOR * 1000 + PATCH, as sbx_version_number() */\n\
         #define SBX_VERSION_NUMBER ((SBX_VERSION_MAJOR * 1000000) + (SBX_VERSION_MINOR * 1000) + SBX_VERSION_PATCH)\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn generate() -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml parses");
    config.after_includes = Some(version_macros());
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_matches_a_fresh_generation() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/sandbox.h");
    let fresh = generate();
    if std::env::var_os("SBX_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/sandbox.h is stale: regenerate it with `SBX_BLESS=1 cargo test -p sandbox-ffi --test header` and commit it"
    );
}
