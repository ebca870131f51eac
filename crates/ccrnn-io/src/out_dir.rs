//! Output directories that ccrnn owns: run directories and reports.
//!
//! An output directory is built in a hidden staging directory beside its target and moved into
//! place only when complete. On the way in it gets a manifest, [`MANIFEST`], listing every file
//! and folder ccrnn wrote there. Replacing an existing target (`--force`, or a report written
//! again) is allowed only when the target is such a directory and holds nothing but what its
//! manifest lists; the old content is then removed entry by entry from that list, never by a
//! recursive delete. So `--out .`, `--out ..`, `--out /`, a file, a symbolic link, a directory
//! ccrnn did not make, or one in which the user has put files of their own is refused before
//! any work starts, and nothing that ccrnn did not create is ever removed.

use crate::{Error, Result};
use std::path::{Component, Path, PathBuf};

/// Name of the manifest file inside every output directory ccrnn writes.
pub const MANIFEST: &str = ".ccrnn-manifest";

const MANIFEST_HEADER: &str = "# ccrnn output directory: the files and folders ccrnn wrote here, one per line.\n\
# `--force` replaces this directory only while it holds nothing else.\n";

/// The directory that holds `target` (`.` for a bare name).
fn parent_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The final name of `target`, refusing paths that do not end in a name of their own
/// (`.`, `..`, `/`, `dir/..`).
fn target_name(target: &Path) -> Result<String> {
    match target.components().next_back() {
        Some(Component::Normal(name)) => Ok(name.to_string_lossy().into_owned()),
        _ => Err(Error::format(
            target,
            "not a usable output directory: give a new directory's name (such as runs/my-fit), \
             not `.`, `..` or `/`",
        )),
    }
}

/// The start of the names of `target`'s hidden siblings of `kind` (`.NAME.KIND-`, then a pid).
fn sibling_prefix(target: &Path, kind: &str) -> Result<String> {
    Ok(format!(".{}.{kind}-", target_name(target)?))
}

/// Hidden sibling of `target` used while a run is being written or an old one removed.
fn sibling(target: &Path, kind: &str) -> Result<PathBuf> {
    Ok(parent_of(target).join(format!("{}{}", sibling_prefix(target, kind)?, std::process::id())))
}

/// The entries listed by the manifest of `dir`, or why `dir` is not a ccrnn output directory.
fn manifest_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        Error::format(
            dir,
            format!(
                "exists and was not written by this version of ccrnn (it has no {MANIFEST}); \
                 --force replaces only ccrnn's own output directories: choose another --out, or \
                 remove it yourself"
            ),
        )
    })?;
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let p = PathBuf::from(line);
        if !p.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(Error::format(
                &path,
                format!("line {}: `{line}` is not a plain relative path", k + 1),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

/// Every entry below `dir`, relative to it, folders after their content.
fn walk(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort();
    for name in entries {
        let full = dir.join(&name);
        let r = rel.join(&name);
        let meta = std::fs::symlink_metadata(&full).map_err(|e| Error::io(&full, e))?;
        if meta.is_dir() {
            walk(&full, &r, out)?;
        }
        out.push(r);
    }
    Ok(())
}

/// Checks before any work that `target` can receive a new output directory: it does not exist,
/// or `overwrite` is set and it is a ccrnn output directory holding only what its manifest
/// lists, and it does not contain the current directory.
pub fn check_target(target: &Path, overwrite: bool) -> Result<()> {
    target_name(target)?;
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok(());
    };
    if !overwrite {
        return Err(Error::format(
            target,
            "already exists; choose another --out or pass --force to replace it",
        ));
    }
    if meta.file_type().is_symlink() {
        return Err(Error::format(
            target,
            "is a symbolic link; --force replaces only a real ccrnn output directory",
        ));
    }
    if !meta.is_dir() {
        return Err(Error::format(
            target,
            "exists and is not a directory; --force never replaces a file",
        ));
    }
    let here = std::env::current_dir().and_then(|d| d.canonicalize());
    let there = target.canonicalize().map_err(|e| Error::io(target, e))?;
    if here.map(|h| h.starts_with(&there)).unwrap_or(true) {
        return Err(Error::format(
            target,
            "contains the current directory; run from elsewhere to replace it",
        ));
    }
    let listed = manifest_entries(target)?;
    let mut present = Vec::new();
    walk(target, Path::new(""), &mut present)?;
    let foreign: Vec<String> = present
        .iter()
        .filter(|p| p.as_os_str() != MANIFEST && !listed.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    if !foreign.is_empty() {
        let shown = foreign.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        let more = if foreign.len() > 5 {
            format!(" and {} more", foreign.len() - 5)
        } else {
            String::new()
        };
        return Err(Error::format(
            target,
            format!(
                "holds {} entr{} that ccrnn did not write ({shown}{more}); --force would lose \
                 them: move them out or choose another --out",
                foreign.len(),
                if foreign.len() == 1 { "y" } else { "ies" }
            ),
        ));
    }
    Ok(())
}

/// Removes staging directories of earlier runs of `target` whose process is gone (Linux).
fn remove_stale(target: &Path) {
    let Ok(prefix) = sibling_prefix(target, "partial") else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent_of(target)) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(&prefix)
            && pid.bytes().all(|b| b.is_ascii_digit())
            && Path::new("/proc/self").exists()
            && !Path::new("/proc").join(pid).exists()
            && e.path().join(STAGING_MARK).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Marks a staging directory as ccrnn's while it is being filled (removed on publishing).
const STAGING_MARK: &str = ".ccrnn-staging";

/// Checks `target` ([`check_target`]) and creates the hidden staging directory that will
/// become it; returns the staging directory.
pub fn stage(target: &Path, overwrite: bool) -> Result<PathBuf> {
    check_target(target, overwrite)?;
    let parent = parent_of(target);
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    remove_stale(target);
    let staging = sibling(target, "partial")?;
    if staging.exists() {
        discard_staging(&staging);
    }
    std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
    std::fs::write(staging.join(STAGING_MARK), b"").map_err(|e| Error::io(&staging, e))?;
    STAGED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((staging.display().to_string(), target.display().to_string()));
    Ok(staging)
}

/// The staging directories of this process and the output directories they become.
static STAGED: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// `msg` with every staging directory of this process replaced by the output directory it
/// stands for: an error while writing `run/.out.partial-123/student.npz` is reported as one
/// writing `run/out/student.npz`, the file the user asked for (the staging directory is gone
/// by the time the message is read).
pub fn public_message(msg: &str) -> String {
    let staged = STAGED.lock().unwrap_or_else(|p| p.into_inner());
    staged.iter().fold(msg.to_string(), |m, (staging, target)| {
        m.replace(staging.as_str(), target)
    })
}

/// Removes a staging directory made by [`stage`] (only if it carries the staging mark).
pub fn discard_staging(staging: &Path) {
    if staging.join(STAGING_MARK).exists() {
        let _ = std::fs::remove_dir_all(staging);
    }
}

/// Writes the manifest of `staging` and moves it to `target`, replacing an old output
/// directory there after checking it again; returns `target`.
pub fn publish(staging: &Path, target: &Path, overwrite: bool) -> Result<PathBuf> {
    let mut entries = Vec::new();
    walk(staging, Path::new(""), &mut entries)?;
    let mut text = String::from(MANIFEST_HEADER);
    for e in entries
        .iter()
        .filter(|e| e.as_os_str() != MANIFEST && e.as_os_str() != STAGING_MARK)
    {
        text.push_str(&e.to_string_lossy());
        text.push('\n');
    }
    crate::write_atomic(&staging.join(MANIFEST), text.as_bytes())?;
    let old = if std::fs::symlink_metadata(target).is_ok() {
        check_target(target, overwrite)?;
        let aside = sibling(target, "replaced")?;
        std::fs::rename(target, &aside).map_err(|e| Error::io(target, e))?;
        Some(aside)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(staging, target) {
        if let Some(aside) = &old {
            let _ = std::fs::rename(aside, target);
        }
        return Err(Error::io(target, e));
    }
    let _ = std::fs::remove_file(target.join(STAGING_MARK));
    if let Some(aside) = old {
        remove_listed(&aside);
    }
    Ok(target.to_path_buf())
}

/// Removes what the manifest of `dir` lists, then `dir` itself if that left it empty.
fn remove_listed(dir: &Path) {
    let Ok(listed) = manifest_entries(dir) else { return };
    // Files first, then folders deepest first (the manifest lists content before folders).
    for rel in &listed {
        let p = dir.join(rel);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| !m.is_dir()) {
            let _ = std::fs::remove_file(&p);
        }
    }
    for rel in &listed {
        let _ = std::fs::remove_dir(dir.join(rel));
    }
    let _ = std::fs::remove_file(dir.join(MANIFEST));
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ccrnn-outdir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn made(target: &Path, files: &[&str]) {
        let s = stage(target, true).unwrap();
        for f in files {
            let p = s.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        publish(&s, target, true).unwrap();
    }

    #[test]
    fn replaces_its_own_directory_and_refuses_everything_else() {
        let d = tmp("a");
        let t = d.join("run");
        made(&t, &["a.txt", "plots/p.svg"]);
        made(&t, &["b.txt"]);
        let mut names: Vec<_> = std::fs::read_dir(&t).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, [MANIFEST, "b.txt"]);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "no staging left beside");
        // A user's file inside: refused, nothing removed.
        std::fs::write(t.join("notes.md"), b"mine").unwrap();
        let e = stage(&t, true).unwrap_err().to_string();
        assert!(e.contains("notes.md") && e.contains("did not write"), "{e}");
        assert!(t.join("notes.md").exists() && t.join("b.txt").exists());
        // Not ccrnn's, a file, names without their own component.
        let other = d.join("other");
        std::fs::create_dir(&other).unwrap();
        assert!(stage(&other, true).unwrap_err().to_string().contains(MANIFEST));
        let file = d.join("file");
        std::fs::write(&file, b"f").unwrap();
        assert!(stage(&file, true).unwrap_err().to_string().contains("not a directory"));
        for p in [".", "..", "/", "a/.."] {
            assert!(stage(Path::new(p), true).is_err(), "{p}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
