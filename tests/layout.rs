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

/// The module a source file is (`src/server/db/mod.rs` -> `server::db`).
fn module_of(file: &str) -> String {
    let path = file.trim_start_matches("src/").trim_end_matches(".rs");
    let path = path.strip_suffix("/mod").unwrap_or(path);
    path.replace('/', "::")
}

/// Imports between the modules of `server` and of `client` form no cycle: each points to a
/// module that does not point back (a parent and its own children aside).
#[test]
fn server_and_client_modules_import_without_cycles() {
    use std::collections::{BTreeMap, BTreeSet};
    let files: Vec<String> = all_sources()
        .into_iter()
        .filter(|f| f.starts_with("src/server/") || f.starts_with("src/client/"))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let me = module_of(f);
        // `super` of `server::db::fetch` is `server::db`; of `server::db` (its mod.rs), `server`.
        let parent = me
            .rsplit_once("::")
            .map(|(p, _)| p.to_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(root().join(f)).expect("source");
        // Code before the unit tests, without comments.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
            for (prefix, base) in [("super::", parent.as_str()), ("crate::", "")] {
                for part in line.split(prefix).skip(1) {
                    let mut target = base.to_owned();
                    for seg in part.split("::") {
                        let seg: String = seg
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        let next = if target.is_empty() {
                            seg.clone()
                        } else {
                            format!("{target}::{seg}")
                        };
                        if seg.is_empty() || !modules.contains(&next) {
                            break;
                        }
                        target = next;
                    }
                    let related = target.is_empty()
                        || me.starts_with(&format!("{target}::"))
                        || target.starts_with(&format!("{me}::"))
                        || target == me;
                    if !related && modules.contains(&target) {
                        edges.entry(me.clone()).or_default().insert(target);
                    }
                }
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in &modules {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
    // The check sees imports at all: the link reads frames, the session uses the registry.
    assert!(
        edges["client::link"].contains("client::frames"),
        "{edges:?}"
    );
    assert!(
        edges["server::session"].contains("server::registry"),
        "{edges:?}"
    );
}
