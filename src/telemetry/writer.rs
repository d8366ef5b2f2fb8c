//! Access-log lines written off the request path: a request appends its formatted line to a
//! shared buffer (a lock and a copy, no system call) and one writer thread sends whatever has
//! gathered to stdout in one write every 10 ms, instead of one `write(2)` per request. Every other
//! line (start-up, init steps, errors) is written at once, after what is buffered, so that it is
//! in the log before anything that follows it (a readiness answer, an exit) and the order of
//! lines is kept. `flush` at exit writes what is left.

use std::{
    io::Write,
    sync::{Arc, Condvar, Mutex, OnceLock},
    thread::JoinHandle,
};

/// Past this many bytes waiting (stdout blocked: the log collector stalled), writers wait for the
/// writer thread instead of growing the buffer without bound.
const MAX_PENDING: usize = 8 << 20;

/// How long access lines wait to be written at most. Waking the writer thread for every line
/// costs a context switch per request, more than the write it saves (BENCHMARKS.md, "Measured
/// choices in the code"); waking it on a timer batches a tick's lines into one write.
const WRITE_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// A buffer this large is written at once rather than at the next tick.
const WRITE_AT: usize = 256 << 10;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Lines arrived (for the writer thread), or room came back (for blocked writers).
    changed: Condvar,
}

/// The handle `tracing_subscriber::fmt` writes each formatted event through.
#[derive(Clone)]
pub struct BufferedStdout {
    shared: Arc<Shared>,
    /// Write at once (after the buffered lines) rather than buffer.
    direct: bool,
    /// The target of the lines to buffer (the access log's), the only ones buffered.
    buffered: &'static str,
}

/// The buffer and the thread that empties it, one per process.
struct WriterThread {
    shared: Arc<Shared>,
    /// Taken by `flush`, which joins it.
    thread: Mutex<Option<JoinHandle<()>>>,
}

static WRITER_THREAD: OnceLock<WriterThread> = OnceLock::new();

impl BufferedStdout {
    /// Starts the writer thread (once per process; later calls share it), buffering the lines of
    /// the target `buffered`.
    pub fn start(buffered: &'static str) -> Self {
        let WriterThread { shared, .. } = WRITER_THREAD.get_or_init(|| {
            let shared = Arc::new(Shared::default());
            let thread = {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name("log-writer".into())
                    .spawn(move || write_out(&shared))
                    .expect("the log writer thread starts")
            };
            WriterThread {
                shared,
                thread: Mutex::new(Some(thread)),
            }
        });
        BufferedStdout {
            shared: shared.clone(),
            direct: false,
            buffered,
        }
    }
}

/// Writes everything still buffered and stops the writer thread: call before the process exits.
pub fn flush() {
    let Some(WriterThread { shared, thread }) = WRITER_THREAD.get() else {
        return;
    };
    lock(&shared.pending).closed = true;
    shared.changed.notify_all();
    if let Some(thread) = thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = thread.join();
    }
}

fn lock(pending: &Mutex<Pending>) -> std::sync::MutexGuard<'_, Pending> {
    // A panic while holding the lock leaves whole lines behind: keep logging.
    pending.lock().unwrap_or_else(|e| e.into_inner())
}

/// The writer thread: every tick (or sooner when the buffer fills), writes out what is buffered.
fn write_out(shared: &Shared) {
    let mut batch = Vec::new();
    loop {
        {
            let pending = lock(&shared.pending);
            let pending = if pending.bytes.len() < WRITE_AT && !pending.closed {
                // Woken early by a full buffer or by `flush`.
                shared
                    .changed
                    .wait_timeout(pending, WRITE_EVERY)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            } else {
                pending
            };
            if pending.bytes.is_empty() && !pending.closed {
                continue;
            }
        }
        let closed = write_buffered(shared, &mut batch, &[]);
        if closed && lock(&shared.pending).bytes.is_empty() {
            return;
        }
    }
}

/// Writes the buffered lines, then `line`, as one write. Stdout is locked before the buffer is
/// taken, so that whoever takes lines first also writes them first. Returns whether `flush` ran.
fn write_buffered(shared: &Shared, batch: &mut Vec<u8>, line: &[u8]) -> bool {
    let mut stdout = std::io::stdout().lock();
    let closed = {
        let mut pending = lock(&shared.pending);
        std::mem::swap(&mut pending.bytes, batch);
        pending.closed
    };
    // Writers blocked on a full buffer may go on.
    shared.changed.notify_all();
    batch.extend_from_slice(line);
    if !batch.is_empty() {
        // Nothing useful can be done when stdout is gone.
        let _ = stdout.write_all(batch).and_then(|()| stdout.flush());
        batch.clear();
    }
    closed
}

impl Write for BufferedStdout {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = lock(&self.shared.pending);
        if self.direct || pending.closed {
            // Not an access line, or `flush` ran (the process is exiting): write now.
            drop(pending);
            write_buffered(&self.shared, &mut Vec::new(), line);
            return Ok(line.len());
        }
        while pending.bytes.len() >= MAX_PENDING {
            pending = self
                .shared
                .changed
                .wait(pending)
                .unwrap_or_else(|e| e.into_inner());
        }
        let before = pending.bytes.len();
        pending.bytes.extend_from_slice(line);
        let full = before < WRITE_AT && pending.bytes.len() >= WRITE_AT;
        drop(pending);
        if full {
            self.shared.changed.notify_all();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferedStdout {
    type Writer = BufferedStdout;

    fn make_writer(&'a self) -> Self::Writer {
        BufferedStdout {
            shared: self.shared.clone(),
            direct: true,
            buffered: self.buffered,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        BufferedStdout {
            shared: self.shared.clone(),
            direct: meta.target() != self.buffered,
            buffered: self.buffered,
        }
    }
}
