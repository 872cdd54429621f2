//! The maps a newcomer reads stay true: lib.rs's list of the places with `unsafe` code matches
//! the code, and the README's layout names every source file.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn all_sources() -> Vec<String> {
    let mut files = Vec::new();
    sources(&root().join("src"), &mut files);
    let mut names: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .expect("under the root")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_unsafe_list_in_lib_rs_is_complete_and_true() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).expect("lib.rs");
    let section = lib
        .split("//! # Unsafe code")
        .nth(1)
        .expect("lib.rs has an `# Unsafe code` section");
    let section: String = section
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let with_unsafe: Vec<String> = all_sources()
        .into_iter()
        .filter(|f| {
            std::fs::read_to_string(root().join(f))
                .is_ok_and(|text| text.contains("allow(unsafe_code)"))
        })
        .collect();
    for f in &with_unsafe {
        assert!(
            section.contains(&format!("`{f}`")),
            "{f} allows unsafe code but lib.rs's list does not name it"
        );
    }
    let listed = section.matches("- `src/").count();
    assert_eq!(
        listed,
        with_unsafe.len(),
        "lib.rs lists {listed} places, the code has {}: {with_unsafe:?}",
        with_unsafe.len()
    );
}

#[test]
fn the_readme_layout_names_every_source_file() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let layout = readme
        .split("## Layout")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("README has a Layout block");
    for f in all_sources() {
        if f.starts_with("src/bin/") || f == "src/lib.rs" {
            continue;
        }
        let name = Path::new(&f)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            layout.contains(&name) || (name == "mod.rs" && f.starts_with("src/proto/")),
            "the README's layout does not name {f}"
        );
    }
}
