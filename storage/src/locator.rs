//! Locators (`ab/cd/<32 hex>`) and the blocking filesystem helpers both local backends share.
//!
//! A locator is produced only by [`new_locator`]; [`check`] accepts nothing else, so a locator read back from
//! the index can never name a path outside the root (no `..`, no absolute paths, no separators of our own).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::BlobEntry;

/// Length of a locator: `ab/cd/` plus a 32-hex-digit UUID.
const LOCATOR_LEN: usize = 6 + 32;

/// A fresh random locator: the first four hex digits of the UUID name the two fan-out directories.
pub(crate) fn new_locator() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{}/{}/{}", &id[0..2], &id[2..4], id)
}

/// A fresh random locator in the given fan-out leaf (`leaf` = the 16 bits `abcd` of `ab/cd/`). The other 112
/// bits of the UUID stay random, so locators stay unique; only the placement is chosen.
pub(crate) fn new_locator_in(leaf: u16) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let prefix = format!("{leaf:04x}");
    format!("{}/{}/{}{}", &prefix[0..2], &prefix[2..4], prefix, &id[4..])
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// Accepts exactly the shape [`new_locator`] produces; anything else is `InvalidInput`.
pub(crate) fn check(locator: &str) -> io::Result<()> {
    let b = locator.as_bytes();
    let ok = b.len() == LOCATOR_LEN
        && b[2] == b'/'
        && b[5] == b'/'
        && b[..2]
            .iter()
            .chain(&b[3..5])
            .chain(&b[6..])
            .all(|&c| is_lower_hex(c))
        && b[0..2] == b[6..8]
        && b[3..5] == b[8..10];
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid blob locator",
        ))
    }
}

/// Checks a requested range against the blob size; `None` means the whole blob.
pub(crate) fn resolve_range(range: Option<(u64, u64)>, size: u64) -> io::Result<(u64, u64)> {
    match range {
        None => Ok((0, size)),
        Some((start, end)) if start <= end && end <= size => Ok((start, end)),
        Some((start, end)) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("range {start}..{end} outside blob of {size} bytes"),
        )),
    }
}

/// Opens a directory and fsyncs it, making the entries created in it durable.
pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Creates the two fan-out directories of `locator` if they are missing and makes each new entry durable by
/// syncing its parent. Safe to race with other puts creating the same directories.
pub(crate) fn ensure_dirs(root: &Path, locator: &str) -> io::Result<()> {
    let top = root.join(&locator[..2]);
    let leaf = root.join(&locator[..5]);
    if leaf.is_dir() {
        return Ok(());
    }
    if create_dir(&top)? {
        fsync_dir(root)?;
    }
    if create_dir(&leaf)? {
        fsync_dir(&top)?;
    }
    Ok(())
}

/// `true` if this call created the directory.
fn create_dir(dir: &Path) -> io::Result<bool> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes a blob file; a missing file is not an error.
pub(crate) fn remove_quietly(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Walks `root/xx/yy/*` and returns every file whose name forms a valid locator (anything else is ignored).
pub(crate) fn list_blocking(root: &Path) -> io::Result<Vec<BlobEntry>> {
    let mut out = Vec::new();
    for top in read_dir_names(root)? {
        for leaf in read_dir_names(&root.join(&top))? {
            let dir: PathBuf = [root, Path::new(&top), Path::new(&leaf)].iter().collect();
            for name in read_dir_names(&dir)? {
                let locator = format!("{top}/{leaf}/{name}");
                if check(&locator).is_err() {
                    continue;
                }
                let meta = match fs::symlink_metadata(dir.join(&name)) {
                    Ok(m) if m.is_file() => m,
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // deleted meanwhile
                    Err(e) => return Err(e),
                };
                let modified = meta.modified().unwrap_or_else(|_| {
                    SystemTime::UNIX_EPOCH
                        + Duration::from_secs(u64::try_from(meta.mtime()).unwrap_or(0))
                });
                out.push(BlobEntry { locator, modified });
            }
        }
    }
    Ok(out)
}

/// Names of the entries of `dir` that are valid UTF-8 (ours always are); a missing directory is empty.
fn read_dir_names(dir: &Path) -> io::Result<Vec<String>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names = Vec::new();
    for entry in rd {
        if let Ok(name) = entry?.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_locators_pass() {
        for _ in 0..100 {
            let l = new_locator();
            assert!(check(&l).is_ok(), "{l}");
        }
    }

    #[test]
    fn placed_locators_pass() {
        for leaf in [0u16, 1, 0xabcd, u16::MAX] {
            let l = new_locator_in(leaf);
            assert!(check(&l).is_ok(), "{l}");
            assert_eq!(&l[..5], format!("{:02x}/{:02x}", leaf >> 8, leaf & 0xff));
        }
        assert_ne!(new_locator_in(7), new_locator_in(7));
    }

    #[test]
    fn hostile_locators_fail() {
        let good = new_locator();
        let bad = [
            "",
            "..",
            "../../etc/passwd",
            "/etc/passwd",
            "ab/cd/../../../../etc/passwd",
            "ab/cd/abcd0000000000000000000000000000/",
            "AB/CD/ABCD0000000000000000000000000000",
            "ab/cd/ef000000000000000000000000000000",
            "ab\\cd\\abcd0000000000000000000000000000",
            "ab/cd/abcd000000000000000000000000000\0",
            "ab/cd/abcd00000000000000000000000000000",
        ];
        for b in bad {
            assert!(check(b).is_err(), "{b:?}");
        }
        assert!(check(&format!("/{good}")).is_err());
        assert!(check(&format!("{good}/..")).is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(resolve_range(None, 10).ok(), Some((0, 10)));
        assert_eq!(resolve_range(Some((3, 3)), 10).ok(), Some((3, 3)));
        assert_eq!(resolve_range(Some((0, 10)), 10).ok(), Some((0, 10)));
        assert!(resolve_range(Some((0, 11)), 10).is_err());
        assert!(resolve_range(Some((5, 4)), 10).is_err());
    }
}
