//! An in-process file system for testing the store's durability: it keeps, beside what every
//! file holds now, what was made durable, and can cut the power.
//!
//! Like RocksDB's `FaultInjectionTestFS` and SQLite's crash-test VFS, it tracks what a real
//! disk would keep through a power cut: a file's data as of its last `sync_data`, and a
//! directory's names (files created, renamed) as of its last directory sync. [`SimFs::cut_after`]
//! arms a power cut at the n-th operation that changes something (a write, a sync, a
//! truncation, a create, a rename); from then on every operation fails, and
//! [`SimFs::after_power_cut`] gives the file system a restart would find: durable names, each
//! file's synced data, and of the bytes written after the last sync of a file maybe a prefix,
//! maybe zeros (what a file system that grew the file first may leave). [`SimFs::fail_next`]
//! makes the next write or sync fail with a chosen error (`EIO`, `ENOSPC`) instead, and
//! [`SimFs::after_crash`] gives what a restart after the process died (the page cache kept)
//! would find.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::fs::{Fs, FsFile, LockError, LockGuard, parent_dir};

/// Which operation [`SimFs::fail_next`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failing {
    /// The next write (after writing a part of its bytes).
    Write,
    /// The next `sync_data`.
    Sync,
}

#[derive(Debug, Default, Clone)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
}

#[derive(Debug, Default)]
struct Sim {
    inodes: Vec<Inode>,
    names: BTreeMap<PathBuf, usize>,
    durable: BTreeMap<PathBuf, usize>,
    locks: BTreeSet<PathBuf>,
    /// Operations that changed something, so far.
    ops: u64,
    /// The power goes at this operation.
    cut_at: Option<u64>,
    dead: bool,
    fail: Option<(Failing, io::ErrorKind)>,
    /// Syncs made (data and directories).
    syncs: u64,
}

impl Sim {
    /// Counts an operation that changes something; fails it if the power is (now) gone.
    fn change(&mut self) -> io::Result<()> {
        if self.dead {
            return Err(gone());
        }
        self.ops += 1;
        if self.cut_at.is_some_and(|n| self.ops >= n) {
            self.dead = true;
            return Err(gone());
        }
        Ok(())
    }

    fn look(&self) -> io::Result<()> {
        if self.dead { Err(gone()) } else { Ok(()) }
    }

    fn new_inode(&mut self) -> usize {
        self.inodes.push(Inode::default());
        self.inodes.len() - 1
    }

    fn inode(&mut self, n: usize) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(n)
            .ok_or_else(|| io::Error::other("no such inode"))
    }
}

fn gone() -> io::Error {
    io::Error::other("the power is off")
}

/// The simulated file system. Cheap to clone: clones share the disk.
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    sim: Arc<Mutex<Sim>>,
}

impl SimFs {
    /// An empty disk.
    pub fn new() -> SimFs {
        SimFs::default()
    }

    fn sim(&self) -> MutexGuard<'_, Sim> {
        self.sim
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Cuts the power at the `n`-th operation from now that changes something (1: the next).
    pub fn cut_after(&self, n: u64) {
        let mut sim = self.sim();
        sim.cut_at = Some(sim.ops + n.max(1));
    }

    /// Cuts the power now.
    pub fn cut_now(&self) {
        self.sim().dead = true;
    }

    /// Whether the power was cut.
    pub fn is_cut(&self) -> bool {
        self.sim().dead
    }

    /// Operations that changed something so far, and syncs among them.
    pub fn counts(&self) -> (u64, u64) {
        let sim = self.sim();
        (sim.ops, sim.syncs)
    }

    /// Fails the next operation of this kind with `kind`.
    pub fn fail_next(&self, what: Failing, kind: io::ErrorKind) {
        self.sim().fail = Some((what, kind));
    }

    /// The disk a restart finds after a power cut. `pick` chooses, for each file with bytes
    /// written after its last sync, how many of them survive (from 0 to the count given) and
    /// whether as written (`false`) or as zeros (`true`).
    pub fn after_power_cut(&self, mut pick: impl FnMut(usize) -> (usize, bool)) -> SimFs {
        let sim = self.sim();
        let mut inodes = Vec::with_capacity(sim.inodes.len());
        for inode in &sim.inodes {
            let mut data = inode.synced.clone();
            if let Some(unsynced) = inode.data.strip_prefix(inode.synced.as_slice())
                && !unsynced.is_empty()
            {
                let (keep, zeros) = pick(unsynced.len());
                let keep = keep.min(unsynced.len());
                if zeros {
                    data.resize(data.len() + keep, 0);
                } else {
                    data.extend_from_slice(unsynced.get(..keep).unwrap_or_default());
                }
            }
            inodes.push(Inode {
                synced: data.clone(),
                data,
            });
        }
        SimFs::from_parts(inodes, sim.durable.clone())
    }

    /// The disk a restart finds after the process died (everything written is there).
    pub fn after_crash(&self) -> SimFs {
        let sim = self.sim();
        let inodes = sim
            .inodes
            .iter()
            .map(|i| Inode {
                data: i.data.clone(),
                synced: i.data.clone(),
            })
            .collect();
        SimFs::from_parts(inodes, sim.names.clone())
    }

    fn from_parts(inodes: Vec<Inode>, names: BTreeMap<PathBuf, usize>) -> SimFs {
        SimFs {
            sim: Arc::new(Mutex::new(Sim {
                inodes,
                durable: names.clone(),
                names,
                ..Sim::default()
            })),
        }
    }

    /// What a file holds now, if it exists.
    pub fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let sim = self.sim();
        let n = *sim.names.get(path)?;
        sim.inodes.get(n).map(|i| i.data.clone())
    }

    /// Writes a whole file, durable at once (to set up a test).
    pub fn put(&self, path: &Path, bytes: &[u8]) {
        let mut sim = self.sim();
        let n = sim.new_inode();
        if let Some(inode) = sim.inodes.get_mut(n) {
            inode.data = bytes.to_vec();
            inode.synced = bytes.to_vec();
        }
        sim.names.insert(path.to_owned(), n);
        sim.durable.insert(path.to_owned(), n);
    }

    /// The names of the files, in order.
    pub fn files(&self) -> Vec<PathBuf> {
        self.sim().names.keys().cloned().collect()
    }

    fn handle(&self, inode: usize) -> Box<dyn FsFile> {
        Box::new(SimFile {
            fs: self.clone(),
            inode,
            pos: 0,
        })
    }
}

impl Fs for SimFs {
    fn open_rw(&self, path: &Path) -> io::Result<(Box<dyn FsFile>, bool)> {
        let mut sim = self.sim();
        sim.look()?;
        if let Some(&n) = sim.names.get(path) {
            drop(sim);
            return Ok((self.handle(n), false));
        }
        sim.change()?;
        let n = sim.new_inode();
        sim.names.insert(path.to_owned(), n);
        drop(sim);
        Ok((self.handle(n), true))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let sim = self.sim();
        sim.look()?;
        let n = *sim
            .names
            .get(path)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        drop(sim);
        Ok(self.handle(n))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let mut sim = self.sim();
        sim.change()?;
        let n = sim.new_inode();
        sim.names.insert(path.to_owned(), n);
        drop(sim);
        Ok(self.handle(n))
    }

    fn exists(&self, path: &Path) -> bool {
        self.sim().names.contains_key(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.change()?;
        let n = sim
            .names
            .remove(from)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))?;
        sim.names.insert(to.to_owned(), n);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.change()?;
        sim.syncs += 1;
        let dir = parent_dir(path);
        let in_dir = |p: &Path| parent_dir(p) == dir;
        let names: Vec<(PathBuf, usize)> = sim
            .names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, n)| (p.clone(), *n))
            .collect();
        sim.durable.retain(|p, _| !in_dir(p));
        sim.durable.extend(names);
        Ok(())
    }

    fn lock(&self, lock_path: &Path) -> Result<LockGuard, LockError> {
        let mut sim = self.sim();
        if !sim.locks.insert(lock_path.to_owned()) {
            return Err(LockError::Held {
                pid: Some(std::process::id()),
            });
        }
        Ok(Box::new(SimLock {
            fs: self.clone(),
            path: lock_path.to_owned(),
        }))
    }

    fn lock_held(&self, lock_path: &Path) -> Option<Option<u32>> {
        self.sim()
            .locks
            .contains(lock_path)
            .then(|| Some(std::process::id()))
    }
}

struct SimLock {
    fs: SimFs,
    path: PathBuf,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.fs.sim().locks.remove(&self.path);
    }
}

struct SimFile {
    fs: SimFs,
    inode: usize,
    pos: u64,
}

impl Read for SimFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut sim = self.fs.sim();
        sim.look()?;
        let inode = sim.inode(self.inode)?;
        let at = usize::try_from(self.pos).unwrap_or(usize::MAX);
        let rest = inode.data.get(at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for SimFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut sim = self.fs.sim();
        sim.change()?;
        let mut buf = buf;
        let mut failure = None;
        if let Some((Failing::Write, kind)) = sim.fail {
            sim.fail = None;
            // A part of it reaches the file, then the error.
            buf = buf.get(..buf.len() / 2).unwrap_or_default();
            failure = Some(io::Error::from(kind));
        }
        let at = usize::try_from(self.pos).map_err(io::Error::other)?;
        let inode = sim.inode(self.inode)?;
        if inode.data.len() < at {
            inode.data.resize(at, 0);
        }
        let end = at + buf.len();
        if inode.data.len() < end {
            inode.data.resize(end, 0);
        }
        inode
            .data
            .get_mut(at..end)
            .unwrap_or_default()
            .copy_from_slice(buf);
        self.pos = end as u64;
        match failure {
            Some(e) => Err(e),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SimFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut sim = self.fs.sim();
        sim.look()?;
        let len = sim.inode(self.inode)?.data.len() as u64;
        self.pos = match to {
            SeekFrom::Start(n) => n,
            SeekFrom::End(d) => len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

impl FsFile for SimFile {
    fn sync_data(&mut self) -> io::Result<()> {
        let mut sim = self.fs.sim();
        sim.change()?;
        if let Some((Failing::Sync, kind)) = sim.fail {
            sim.fail = None;
            return Err(io::Error::from(kind));
        }
        sim.syncs += 1;
        let inode = sim.inode(self.inode)?;
        inode.synced = inode.data.clone();
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut sim = self.fs.sim();
        sim.change()?;
        let len = usize::try_from(len).map_err(io::Error::other)?;
        sim.inode(self.inode)?.data.resize(len, 0);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        let mut sim = self.fs.sim();
        sim.look()?;
        Ok(sim.inode(self.inode)?.data.len() as u64)
    }
}
