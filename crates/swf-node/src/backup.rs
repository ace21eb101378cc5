//! Online backups: the leader confirms its leadership with a quorum and waits until it has applied
//! everything committed before the request (a linearizable read), then streams `swf_store::backup`
//! of its applied state in chunks over a channel, from a blocking thread. Every call acknowledged
//! before the backup was asked for is in it; the node goes on serving meanwhile.

use std::io::{self, Write};

use openraft::Raft;
use swf_store::{Db, TypeConfig};
use swf_types::Fault;
use tokio::sync::mpsc;

/// Chunks of a backup as they are written; an `Err` ends a failed backup (the receiver must not
/// present what came before it as a whole backup).
pub type BackupStream = mpsc::Receiver<Result<Vec<u8>, String>>;

/// Bytes per chunk sent.
const CHUNK: usize = 256 << 10;

/// A `Write` that sends full chunks to the channel (blocking while the receiver is behind).
struct ChunkWriter {
    tx: mpsc::Sender<Result<Vec<u8>, String>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Starts a backup on node `node_id` (which must lead); see the module doc.
pub async fn start(raft: &Raft<TypeConfig>, db: &Db, node_id: u64) -> Result<BackupStream, Fault> {
    if let Err(e) = raft.ensure_linearizable().await {
        let leader = raft.metrics().borrow().current_leader;
        return Err(Fault::unavailable(match leader {
            Some(l) if l != node_id => format!(
                "node {node_id} is not the leader (node {l} leads): take the backup through the \
                 leader's admin endpoint"
            ),
            _ => format!("node {node_id} cannot confirm its leadership: {e}"),
        }));
    }
    let (tx, rx) = mpsc::channel(8);
    let db = db.clone();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        match swf_store::backup::write(&db, &mut out, node_id, now_ms).and_then(|h| {
            out.flush()?;
            Ok(h)
        }) {
            Ok(header) => tracing::info!(applied_index = header.applied_index, "backup streamed"),
            Err(e) => {
                tracing::warn!(error = %e, "backup failed");
                let _ = tx.blocking_send(Err(e.to_string()));
            }
        }
    });
    Ok(rx)
}
