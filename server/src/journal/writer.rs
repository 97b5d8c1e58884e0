//! The one thread that writes the journal, with group commit and a bounded queue.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};

use tokio::sync::{mpsc, oneshot};

use super::JournalError;
use super::frame::MAGIC;
use super::fs::FsFile;

/// How many appends may wait for the writer before callers wait to queue theirs.
pub const DEFAULT_QUEUE: usize = 1024;

enum Job {
    /// Bytes to append.
    Append(Vec<u8>, oneshot::Sender<Result<(), JournalError>>),
    /// Empty the journal back to its header, then append these bytes.
    Reset(Vec<u8>, oneshot::Sender<Result<(), JournalError>>),
}

/// The handle callers append through.
pub struct Writer {
    /// Whether there is a file at all (`--in-memory`: no).
    on_disk: bool,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// A writer that stores nothing (`--in-memory`): appends succeed at once.
    pub fn in_memory() -> Writer {
        Writer {
            on_disk: false,
            jobs: Mutex::new(None),
            thread: Mutex::new(None),
        }
    }

    /// Starts the writer thread on an opened journal positioned at its end; at most `queue`
    /// appends wait for it at once.
    pub fn start(file: Box<dyn FsFile>, path: PathBuf, queue: usize) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>(queue.max(1));
        let thread = thread::Builder::new()
            .name("journal".into())
            .spawn(move || write_loop(file, &path, rx))?;
        Ok(Writer {
            on_disk: true,
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// `None` in memory; else the queue, if still open.
    fn sender(&self) -> Option<Option<mpsc::Sender<Job>>> {
        if !self.on_disk {
            return None;
        }
        Some(
            self.jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        )
    }

    /// Appends framed bytes and waits until they are durable.
    pub async fn append(&self, framed: Vec<u8>) -> Result<(), JournalError> {
        self.submit(|done| Job::Append(framed, done)).await
    }

    /// Empties the journal (back to its header), appends `framed` (the reset record), and
    /// waits until that is durable.
    pub async fn reset(&self, framed: Vec<u8>) -> Result<(), JournalError> {
        self.submit(|done| Job::Reset(framed, done)).await
    }

    async fn submit(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<(), JournalError>>) -> Job,
    ) -> Result<(), JournalError> {
        let Some(jobs) = self.sender() else {
            return Ok(());
        };
        let jobs = jobs.ok_or(JournalError::Stopped)?;
        let (tx, rx) = oneshot::channel();
        // A full queue makes the caller wait here (backpressure), never grows memory.
        jobs.send(job(tx))
            .await
            .map_err(|_| JournalError::Stopped)?;
        rx.await.map_err(|_| JournalError::Stopped)?
    }

    /// Appends waiting in the queue now (never more than the queue's size).
    pub fn queued(&self) -> usize {
        match self.sender() {
            Some(Some(jobs)) => jobs.max_capacity() - jobs.capacity(),
            _ => 0,
        }
    }

    /// Stops taking appends, lets the thread finish what is queued (written and synced), and
    /// waits for it. Appends after this fail with [`JournalError::Stopped`].
    pub fn close(&self) {
        drop(
            self.jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn write_loop(mut file: Box<dyn FsFile>, path: &Path, mut jobs: mpsc::Receiver<Job>) {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while let Ok(more) = jobs.try_recv() {
            batch.push(more);
        }
        let mut waiting = Vec::with_capacity(batch.len());
        let mut result: Result<(), std::io::Error> = Ok(());
        for job in batch {
            match job {
                Job::Append(bytes, done) => {
                    if result.is_ok() {
                        result = file.write_all(&bytes);
                    }
                    waiting.push(done);
                }
                Job::Reset(bytes, done) => {
                    if result.is_ok() {
                        result = file
                            .set_len(MAGIC.len() as u64)
                            .and_then(|()| file.seek(std::io::SeekFrom::Start(MAGIC.len() as u64)))
                            .and_then(|_| file.write_all(&bytes));
                    }
                    waiting.push(done);
                }
            }
        }
        if result.is_ok() {
            result = file.sync_data();
        }
        match result {
            Ok(()) => {
                for done in waiting {
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) => {
                // The file's state is unknown past the last sync: nothing more is acknowledged.
                let kind = e.kind();
                let text = e.to_string();
                for done in waiting {
                    let _ = done.send(Err(io(std::io::Error::new(kind, text.clone()))));
                }
                jobs.close();
                while let Some(job) = jobs.blocking_recv() {
                    let (Job::Append(_, done) | Job::Reset(_, done)) = job;
                    let _ = done.send(Err(JournalError::Stopped));
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Read, SeekFrom};
    use std::sync::{Arc, Condvar};

    /// A file whose `sync_data` waits until the test opens the gate.
    struct Gated {
        gate: Arc<(Mutex<bool>, Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Read for Gated {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }
    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Seek for Gated {
        fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
            Ok(0)
        }
    }
    impl FsFile for Gated {
        fn sync_data(&mut self) -> io::Result<()> {
            let (open, turn) = &*self.gate;
            let mut open = open.lock().unwrap();
            while !*open {
                open = turn.wait(open).unwrap();
            }
            Ok(())
        }
        fn set_len(&mut self, _: u64) -> io::Result<()> {
            Ok(())
        }
        fn size(&self) -> io::Result<u64> {
            Ok(0)
        }
    }

    #[test]
    fn appends_wait_for_room_in_a_bounded_queue() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let written = Arc::new(Mutex::new(Vec::new()));
        let file = Gated {
            gate: gate.clone(),
            written: written.clone(),
        };
        let writer = Arc::new(Writer::start(Box::new(file), "/gated".into(), 4).unwrap());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let tasks: Vec<_> = (0..50u8)
                .map(|n| {
                    let writer = writer.clone();
                    tokio::spawn(async move { writer.append(vec![n]).await })
                })
                .collect();
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            // The writer holds one batch (stuck in its sync); at most 4 more wait in the queue;
            // the other callers wait to queue theirs, holding nothing in it.
            assert_eq!(writer.queued(), 4);
            assert!(tasks.iter().all(|t| !t.is_finished()));
            let (open, turn) = &*gate;
            *open.lock().unwrap() = true;
            turn.notify_all();
            for t in tasks {
                t.await.unwrap().unwrap();
            }
        });
        assert_eq!(written.lock().unwrap().len(), 50);
        assert_eq!(writer.queued(), 0);
        writer.close();
        assert!(matches!(
            runtime.block_on(writer.append(vec![1])),
            Err(JournalError::Stopped)
        ));
    }
}
