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
pub struct OpenOptions {
    std: std::fs::OpenOptions,
    /// The same settings, to build `open(2)` flags for io_uring (std's
    /// builder cannot be read back).
    flags: Flags,
}

#[derive(Debug, Clone, Copy)]
struct Flags {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom: i32,
}

impl Flags {
    /// `open(2)` flags as std computes them, with std's checks.
    fn to_open_flags(self) -> io::Result<i32> {
        let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_owned());
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => return Err(invalid("must specify at least one of read, write, or append access")),
        };
        let needs_write = match (self.write, self.append) {
            (true, false) => false,
            (false, false) => self.truncate || self.create || self.create_new,
            (_, true) => self.truncate && !self.create_new,
        };
        if needs_write {
            return Err(invalid("creating or truncating a file requires write or append access"));
        }
        let creation = match (self.create, self.truncate, self.create_new) {
            (false, false, false) => 0,
            (true, false, false) => libc::O_CREAT,
            (false, true, false) => libc::O_TRUNC,
            (true, true, false) => libc::O_CREAT | libc::O_TRUNC,
            (_, _, true) => libc::O_CREAT | libc::O_EXCL,
        };
        Ok(access | creation | (self.custom & !libc::O_ACCMODE))
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// No access at all yet: set `read`, `write` or `append`.
    pub fn new() -> OpenOptions {
        OpenOptions {
            std: std::fs::OpenOptions::new(),
            flags: Flags {
                read: false,
                write: false,
                append: false,
                truncate: false,
                create: false,
                create_new: false,
                mode: 0o666,
                custom: 0,
            },
        }
    }

    /// Read access.
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.std.read(read);
        self.flags.read = read;
        self
    }

    /// Write access.
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.std.write(write);
        self.flags.write = write;
        self
    }

    /// Append mode: every write goes to the end.
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.std.append(append);
        self.flags.append = append;
        self
    }

    /// Truncate to length 0 on open (needs write access).
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.std.truncate(truncate);
        self.flags.truncate = truncate;
        self
    }

    /// Create the file if it does not exist (needs write or append).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.std.create(create);
        self.flags.create = create;
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.std.create_new(create_new);
        self.flags.create_new = create_new;
        self
    }

    /// The permission bits of a created file (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.std.mode(mode);
        self.flags.mode = mode;
        self
    }

    /// Extra `open(2)` flags (e.g. `libc::O_NOFOLLOW`).
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.std.custom_flags(flags);
        self.flags.custom = flags;
        self
    }

    /// Opens `path` with these options (a checkpoint). On a loop whose
    /// reactor is io_uring, the open is an io_uring operation.
    ///
    /// Errors name the path: `NotFound`, `PermissionDenied`,
    /// `AlreadyExists` (`create_new`), `IsADirectory` (writing to a
    /// directory), `InvalidInput` (no access mode, or a NUL in the path).
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        if super::ring::available() {
            let path = path.as_ref();
            let flags = self.flags.to_open_flags().map_err(|err| with_path(err, "open", path))?;
            let fd = super::ring::open(path, flags, self.flags.mode).await?;
            return Ok(File::from_ring(std::fs::File::from(fd)));
        }
        let options = self.std.clone();
        let path = path.as_ref().to_owned();
        let std = asyncify(move || options.open(&path).map_err(|err| with_path(err, "open", &path))).await?;
        Ok(File::from_std(std))
    }

    /// The `std` options.
    pub fn as_std(&self) -> &std::fs::OpenOptions {
        &self.std
    }
}
