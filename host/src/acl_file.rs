//! The ACL file on disk for ACL LOAD / ACL SAVE and `aclfile` at startup (the format is
//! core's: [`redish_core::acl::file`]). Saving writes `<file>.tmp-<pid>-<ms>` and renames
//! it over the file, as Redis's `ACLSaveToFile`, so a crash mid-save leaves the old file.

use std::io::Write;

use redish_core::acl::file::AclFileIo;

/// The host's [`AclFileIo`].
#[derive(Debug, Default)]
pub struct HostAclFiles;

/// An I/O error as `strerror` words it (`No such file or directory`), without Rust's
/// ` (os error 2)`.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

impl AclFileIo for HostAclFiles {
    fn read(&mut self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| strerror(&e))
    }

    fn write(&mut self, path: &str, contents: &[u8]) -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = format!("{path}.tmp-{}-{}", std::process::id(), crate::now_ms());
        let result = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(|e| format!("Opening temp ACL file for ACL SAVE: {}", strerror(&e)))
            .and_then(|mut f| {
                f.write_all(contents)
                    .map_err(|e| format!("Writing ACL file for ACL SAVE: {}", strerror(&e)))
            })
            .and_then(|()| {
                std::fs::rename(&tmp, path)
                    .map_err(|e| format!("Renaming ACL file for ACL SAVE: {}", strerror(&e)))
            });
        if let Err(e) = &result {
            tracing::warn!("{e}");
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// Plugs the ACL file in and, with `aclfile` set, loads it as Redis does at startup; the
/// error is Redis's line (`Aborting Redis startup because of ACL errors: …`), logged.
pub fn install(store: &mut redish_core::Store) -> std::io::Result<()> {
    store.set_acl_file_io(Box::new(HostAclFiles));
    if store.config().security.aclfile.is_empty() {
        return Ok(());
    }
    redish_core::acl::file::load(store).map_err(|e| {
        let line = format!("Aborting Redis startup because of ACL errors: {e}");
        tracing::warn!("{line}");
        std::io::Error::new(std::io::ErrorKind::InvalidData, line)
    })
}
