//! The small file-system interface the store writes through.
//!
//! Everything the journal does to the disk goes through [`Fs`]: open, read, write, `fdatasync`,
//! truncate, create, rename, directory sync and the advisory lock. [`OsFs`] is the real one.
//! Tests put an in-process file system behind the same interface that keeps only what was
//! synced when a power cut is simulated, and that fails a chosen write or sync (`EIO`,
//! `ENOSPC`), so that what a missing sync would lose can be seen (a SIGKILL keeps the page
//! cache and cannot show it).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// An open file of an [`Fs`].
pub trait FsFile: Read + Write + Seek + Send {
    /// Makes the file's data (and its size) durable: `fdatasync`.
    fn sync_data(&mut self) -> io::Result<()>;
    /// Sets the file's size (truncates or extends with zeros).
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// The file's size.
    fn size(&self) -> io::Result<u64>;
}

/// The advisory lock on a journal, held until dropped (or until the process ends: the kernel
/// releases it, so a killed server never blocks its own restart).
pub type LockGuard = Box<dyn Send + Sync>;

/// Why a lock could not be taken.
#[derive(Debug)]
#[non_exhaustive]
pub enum LockError {
    /// Another process holds it; its pid, as written in the lock file, if readable.
    Held {
        /// The holder's process id.
        pid: Option<u32>,
    },
    /// The lock file could not be opened or locked.
    Io(io::Error),
}

/// The file-system operations the store needs.
pub trait Fs: Send + Sync + fmt::Debug {
    /// Opens `path` for reading and writing, creating it empty if it does not exist. Returns
    /// the file and whether it was created.
    fn open_rw(&self, path: &Path) -> io::Result<(Box<dyn FsFile>, bool)>;
    /// Opens an existing `path` read-only.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Creates `path`, or truncates it to nothing if it exists, for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Whether `path` names a file.
    fn exists(&self, path: &Path) -> bool;
    /// Renames `from` to `to`, replacing `to` (atomic on one file system).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory holding `path` durable (names created or renamed in it).
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Takes the exclusive advisory lock of `path` (a file of its own, `lock_path`), writing
    /// this process's id into it.
    fn lock(&self, lock_path: &Path) -> Result<LockGuard, LockError>;
    /// Whether another process holds the lock of `lock_path`, and its pid if the lock file
    /// names it: `None` when it is free. Takes no lock and writes nothing.
    fn lock_held(&self, lock_path: &Path) -> Option<Option<u32>>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsFs;

impl FsFile for File {
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl Fs for OsFs {
    fn open_rw(&self, path: &Path) -> io::Result<(Box<dyn FsFile>, bool)> {
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok((Box::new(file), created))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(File::open(path)?))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(File::create(path)?))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(parent_dir(path))?.sync_all()
    }

    fn lock(&self, lock_path: &Path) -> Result<LockGuard, LockError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path)
            .map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    pid: pid_in(lock_path),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(LockError::Io(e)),
        }
        // Ours now: say who holds it. (Not synced: the pid matters only while we live.)
        file.set_len(0).map_err(LockError::Io)?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())
            .map_err(LockError::Io)?;
        Ok(Box::new(file))
    }

    fn lock_held(&self, lock_path: &Path) -> Option<Option<u32>> {
        let file = File::open(lock_path).ok()?;
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(_) => Some(pid_in(lock_path)),
        }
    }
}

/// The pid a lock file names.
fn pid_in(lock_path: &Path) -> Option<u32> {
    std::fs::read_to_string(lock_path).ok()?.trim().parse().ok()
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` appended to its file name (`j.db` → `j.db.lock`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The first of `FILE.{what}-1`, `FILE.{what}-2`, … that does not exist: where bytes moved
/// aside go, so that nothing moved aside overwrites what an earlier repair kept.
pub fn aside_path(fs: &dyn Fs, path: &Path, what: &str) -> PathBuf {
    (1u32..)
        .map(|n| with_suffix(path, &format!(".{what}-{n}")))
        .find(|p| !fs.exists(p))
        .unwrap_or_else(|| with_suffix(path, &format!(".{what}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real file system on real files: `open_rw` says whether it created the file (a new
    /// journal's directory is synced only then), and nothing moved aside is overwritten by the
    /// next move (`exists` backs `aside_path`).
    #[test]
    fn the_real_file_system_tells_new_files_and_free_aside_names() {
        let dir = std::env::temp_dir().join(format!("rd-osfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j.db");
        let fs = OsFs;
        assert!(!fs.exists(&path));
        let (_, created) = fs.open_rw(&path).unwrap();
        assert!(created);
        assert!(fs.exists(&path));
        let (_, created) = fs.open_rw(&path).unwrap();
        assert!(!created);
        assert_eq!(
            aside_path(&fs, &path, "damaged"),
            dir.join("j.db.damaged-1")
        );
        std::fs::write(dir.join("j.db.damaged-1"), b"kept").unwrap();
        std::fs::write(dir.join("j.db.damaged-2"), b"kept").unwrap();
        assert_eq!(
            aside_path(&fs, &path, "damaged"),
            dir.join("j.db.damaged-3")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    /// The directory synced after a rename: `.` for a bare file name (`--db j.db`).
    #[test]
    fn a_bare_file_name_is_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("j.db")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("/srv/j.db")), PathBuf::from("/srv"));
        assert_eq!(parent_dir(Path::new("data/j.db")), PathBuf::from("data"));
    }
}
