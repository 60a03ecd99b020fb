//! sandbox-core: run a command in fresh user/mount/pid/ipc/uts/net/cgroup
//! namespaces on a private root filesystem, rootless, and report what
//! happened.
//!
//! ```no_run
//! use sandbox_core::Sandbox;
//! use std::time::Duration;
//! let out = Sandbox::builder()
//!     .timeout(Duration::from_secs(2))
//!     .build()?
//!     .command("echo").args(["hello"]).output()?;
//! assert_eq!(out.stdout, b"hello\n");
//! # Ok::<(), sandbox_core::Error>(())
//! ```

pub mod caps;
pub mod cgroup;
pub mod config;
pub mod error;
pub mod mount;
pub mod probe;
pub mod process;
mod sys;
pub mod userns;

pub use cgroup::{Enforcement, LimitsReport};
pub use config::{IdMapping, Limits, Mount, Namespaces, Network, RootFs, SandboxBuilder, SandboxConfig};
pub use error::{Error, ErrorKind, Stage};
pub use process::exit::{CpuTime, Outcome, Output};
pub use process::supervise::Child;

use process::spawn::{StdioSpec, spawn};
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::Instant;

/// A validated, reusable sandbox configuration. Cheap to clone; safe to use
/// from many threads at once.
#[derive(Debug, Clone)]
pub struct Sandbox {
    config: Arc<SandboxConfig>,
}

impl Sandbox {
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Validates `config` (the serde form, e.g. from JSON).
    pub fn from_config(config: SandboxConfig) -> Result<Sandbox, Error> {
        config.validate()?;
        Ok(Sandbox::from_validated(config))
    }

    pub(crate) fn from_validated(config: SandboxConfig) -> Sandbox {
        Sandbox { config: Arc::new(config) }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// A command to run in this sandbox, shaped like `std::process::Command`.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        Command {
            config: Arc::clone(&self.config),
            argv: vec![program.as_ref().as_bytes().to_vec()],
            env: Vec::new(),
            stdin: None,
            stdout: None,
            stderr: None,
            input: None,
        }
    }
}

/// Where a standard stream of the workload goes.
#[derive(Debug)]
pub enum Stdio {
    /// The caller's own stream.
    Inherit,
    /// /dev/null.
    Null,
    /// A pipe to the caller (captured by `output()`).
    Piped,
    /// An open file or fd, handed over.
    Fd(OwnedFd),
}

impl From<File> for Stdio {
    fn from(f: File) -> Stdio {
        Stdio::Fd(f.into())
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Stdio {
        Stdio::Fd(fd)
    }
}

impl Stdio {
    fn into_spec(self) -> StdioSpec {
        match self {
            Stdio::Inherit => StdioSpec::Inherit,
            Stdio::Null => StdioSpec::Null,
            Stdio::Piped => StdioSpec::Piped,
            Stdio::Fd(fd) => StdioSpec::Fd(fd),
        }
    }
}

/// One command in a sandbox.
#[derive(Debug)]
pub struct Command {
    config: Arc<SandboxConfig>,
    argv: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    input: Option<Vec<u8>>,
}

impl Command {
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.argv.push(arg.as_ref().as_bytes().to_vec());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Adds a variable on top of the sandbox's environment. Like
    /// `std::process::Command::env`, neither part need be UTF-8.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.env.push((key.as_ref().as_bytes().to_vec(), value.as_ref().as_bytes().to_vec()));
        self
    }

    pub fn stdin(&mut self, s: Stdio) -> &mut Command {
        self.stdin = Some(s);
        self
    }

    pub fn stdout(&mut self, s: Stdio) -> &mut Command {
        self.stdout = Some(s);
        self
    }

    pub fn stderr(&mut self, s: Stdio) -> &mut Command {
        self.stderr = Some(s);
        self
    }

    /// Bytes written to the workload's stdin by `output()`.
    pub fn input(&mut self, data: impl Into<Vec<u8>>) -> &mut Command {
        self.input = Some(data.into());
        self
    }

    /// Starts the sandbox; streams default to inherit.
    pub fn spawn(&mut self) -> Result<Child, Error> {
        self.spawn_with([Stdio::Inherit, Stdio::Inherit, Stdio::Inherit])
    }

    /// Runs to the end with inherited streams.
    pub fn status(&mut self) -> Result<Outcome, Error> {
        let stdin = if self.input.is_some() { Stdio::Piped } else { Stdio::Inherit };
        let input = self.input.clone();
        let child = self.spawn_with([stdin, Stdio::Inherit, Stdio::Inherit])?;
        Ok(child.wait_with_output(input)?.outcome)
    }

    /// Runs to the end capturing stdout and stderr (stdin is null unless
    /// `input` was given).
    pub fn output(&mut self) -> Result<Output, Error> {
        let stdin = if self.input.is_some() { Stdio::Piped } else { Stdio::Null };
        let input = self.input.clone();
        let child = self.spawn_with([stdin, Stdio::Piped, Stdio::Piped])?;
        child.wait_with_output(input)
    }

    fn spawn_with(&mut self, defaults: [Stdio; 3]) -> Result<Child, Error> {
        let [d0, d1, d2] = defaults;
        let stdio = [
            self.stdin.take().unwrap_or(d0).into_spec(),
            self.stdout.take().unwrap_or(d1).into_spec(),
            self.stderr.take().unwrap_or(d2).into_spec(),
        ];
        let spawned = spawn(&self.config, &self.argv, &self.env, stdio, Instant::now())?;
        // Wall time and the timeout count from the workload's exec: a slow
        // setup on a loaded host does not eat into the workload's time.
        Ok(Child::new(spawned, Instant::now(), self.config.timeout, self.config.output_limit))
    }
}
