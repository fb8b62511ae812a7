//! The vault lock: one changing command at a time. `flock` on
//! `VAULT/.lock`; a second command fails at once naming the holder.

use std::path::Path;

use crate::base::fs::{atomic, fsx};

use super::{Vault, LOCK_FILE, TMP_PREFIX};
use crate::base::error::{Error, IoContext, Result};

impl Vault {
    /// Take the vault's lock for a command that changes it: one such
    /// command at a time, never interleaved. A second one fails at once,
    /// naming the holder. With the lock held, the temporaries a killed
    /// process left behind (`.tmp-*`) are removed: nobody else is writing.
    pub fn lock(mut self, command: &str) -> Result<Vault> {
        use std::io::{Read, Seek, Write};
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        if self.lock.is_some() {
            return Ok(self);
        }
        let path = self.root.join(LOCK_FILE);
        // Never through a link (a committed `.lock -> FILE` would be
        // truncated and overwritten below), and only a regular file
        // (O_NONBLOCK: a FIFO fails instead of blocking).
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(atomic::SECRET_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => fsx::not_plain(&path, "a symbolic link"),
                Some(libc::ENXIO) => fsx::not_plain(&path, "a FIFO"),
                _ => Error::io(&path, e),
            })?;
        if !file.metadata().with_path(&path)?.is_file() {
            return Err(fsx::not_plain(&path, "not a regular file"));
        }
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(Error::io(path, e));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            // Name the holder only while that process still runs.
            let alive = holder
                .split_whitespace()
                .nth(1)
                .map(|pid| pid.trim_end_matches(':'))
                .is_some_and(|pid| Path::new("/proc").join(pid).exists());
            let holder = if alive { holder.trim() } else { "" };
            return Err(Error::vault(
                format!(
                    "the vault {} is in use by another keycycle{}",
                    crate::base::text::path(&self.root),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    }
                ),
                "wait for it to finish, then run this again; nothing was changed",
            ));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "pid {}: {command}", std::process::id());
        self.lock = Some(std::sync::Arc::new(file));
        self.remove_temporaries();
        Ok(self)
    }

    fn remove_temporaries(&self) {
        fn sweep(dir: &Path, depth: usize) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let _ = if is_dir {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                } else if is_dir && depth > 0 {
                    sweep(&path, depth - 1);
                }
            }
        }
        sweep(&self.root, 3);
    }

    pub(crate) fn require_lock(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::Other(anyhow::anyhow!(
                "internal error: the vault is being changed without its lock"
            )));
        }
        Ok(())
    }
}
