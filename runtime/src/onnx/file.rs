//! Reading model files: memory-mapped where the file allows it, so decoding and tensor
//! conversion read the page cache directly instead of a heap copy of the whole file.

use crate::error::{Error, Result};
use bytes::Bytes;
use std::path::Path;

/// The bytes of the file at `path`. Regular files are mapped read-only (`populate` asks the
/// kernel to fault every page in at once, for files read from end to end); anything that
/// cannot be mapped (a pipe, an empty file) is read into memory.
///
/// The mapping lives as long as the returned `Bytes` and its slices: the importer copies the
/// tensors out and drops it. As with any mapped file, a file truncated by another process
/// while it is being imported ends the process with SIGBUS.
pub fn read(path: &Path, populate: bool) -> Result<Bytes> {
    let io = |e| Error::Io {
        path: path.display().to_string(),
        source: e,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > 0 {
        let mut opts = memmap2::MmapOptions::new();
        if populate {
            opts.populate();
        }
        // SAFETY: the map is private and read-only; see the note above on truncation.
        if let Ok(map) = unsafe { opts.map(&file) } {
            return Ok(Bytes::from_owner(map));
        }
    }
    std::fs::read(path).map(Bytes::from).map_err(io)
}
