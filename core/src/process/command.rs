//! `Command`: std's process builder, spawning [`Child`]ren on the loop.

use super::child::Child;
use super::Reaping;
use crate::runtime::current;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

/// A process builder (tokio's `tokio::process::Command`): std's
/// `Command`, plus [`kill_on_drop`](Command::kill_on_drop), with
/// [`spawn`](Command::spawn) giving a [`Child`] on the running loop.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use corio_core::process::Command;
///
/// let output = Command::new("git").args(["log", "-1", "--format=%H"]).output().await?;
/// assert!(output.status.success());
/// println!("{}", String::from_utf8_lossy(&output.stdout));
/// # Ok(()) }
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command").field("std", &self.std).field("kill_on_drop", &self.kill_on_drop).finish()
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command { std, kill_on_drop: false }
    }
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no `/`).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable for the child.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's standard input (`Stdio::piped()` gives
    /// [`Child::stdin`]); inherited by default.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's standard output; inherited by default.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's standard error; inherited by default.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// The user id the child runs as.
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// The group id the child runs as.
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group of its own).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// The child's `argv[0]`.
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// Kill the child (`SIGKILL`) if its [`Child`] is dropped before it
    /// was reaped, e.g. when the task holding it is cancelled (default
    /// `false`, as tokio). Either way, corio reaps it.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The `std` command.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The `std` command, mutably (for settings not mirrored here).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child on the running loop.
    ///
    /// Errors: no loop is running; the program cannot be run (`NotFound`,
    /// `PermissionDenied`, ..., naming the program); the loop's reactor has
    /// no I/O to watch it with. Nothing is left running after an error.
    pub fn spawn(&mut self) -> io::Result<Child> {
        if current::with_running(|_| ()).is_none() {
            return Err(io::Error::other("corio::process: no event loop is running on this thread"));
        }
        let std = self.std.spawn().map_err(|err| {
            let program = self.std.get_program().to_owned();
            io::Error::new(err.kind(), format!("spawn {program:?}: {err}"))
        })?;
        Child::adopt(std, self.kill_on_drop, Reaping::configured())
    }

    /// Runs the child to its exit and returns its status (standard
    /// streams inherited unless set).
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Runs the child with its standard output and error captured and
    /// returns them with its status (tokio's `output`: both are piped,
    /// whatever was set).
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        self.spawn()?.wait_with_output().await
    }
}
