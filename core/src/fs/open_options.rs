//! `OpenOptions`: how to open a [`File`](super::File) (std's builder, with
//! an async `open`).

use super::file::File;
use super::pool::{asyncify, with_path};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Options for opening a file, as `std::fs::OpenOptions` (tokio's
/// `tokio::fs::OpenOptions`); [`open`](OpenOptions::open) runs on the
/// loop's blocking pool.
///
/// ```
/// # let lp = corio_core::runtime::EventLoop::new(corio_core::reactor::ParkReactor::new());
/// # lp.block_on(async {
/// use corio_core::fs::OpenOptions;
///
/// let path = std::env::temp_dir().join(format!("corio-open-options-{}", std::process::id()));
/// let mut log = OpenOptions::new().create(true).append(true).mode(0o600).open(&path).await?;
/// log.write_all(b"one line\n").await?;
/// log.sync_all().await?;
/// # corio_core::fs::remove_file(&path).await?;
/// # Ok::<_, std::io::Error>(()) }).unwrap().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions(std::fs::OpenOptions);

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// No access at all yet: set `read`, `write` or `append`.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Read access.
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.0.read(read);
        self
    }

    /// Write access.
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.0.write(write);
        self
    }

    /// Append mode: every write goes to the end.
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.0.append(append);
        self
    }

    /// Truncate to length 0 on open (needs write access).
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.0.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.0.create_new(create_new);
        self
    }

    /// The permission bits of a created file (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.0.mode(mode);
        self
    }

    /// Extra `open(2)` flags (e.g. `libc::O_NOFOLLOW`).
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.0.custom_flags(flags);
        self
    }

    /// Opens `path` with these options (a checkpoint).
    ///
    /// Errors name the path: `NotFound`, `PermissionDenied`,
    /// `AlreadyExists` (`create_new`), `IsADirectory` (writing to a
    /// directory), `InvalidInput` (no access mode, or a NUL in the path).
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let options = self.0.clone();
        let path = path.as_ref().to_owned();
        let std = asyncify(move || options.open(&path).map_err(|err| with_path(err, "open", &path))).await?;
        Ok(File::from_std(std))
    }

    /// The `std` options.
    pub fn as_std(&self) -> &std::fs::OpenOptions {
        &self.0
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> Self {
        OpenOptions(options)
    }
}
