//! The crate's error: each module's error composed upward, with a stable
//! `kind()`, the `stage()` that failed, the `errno()` and the `path()`
//! involved, so C and Python can map it without parsing messages.

use crate::cgroup::CgroupError;
use crate::config::ConfigError;
use crate::process::SpawnError;
use crate::userns::IdMapError;
use std::path::Path;

/// Stable classification, shared with the C (`SBX_E_*`) and Python
/// (`sandbox.*Error`) doors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration or arguments are wrong; nothing was started.
    InvalidConfig,
    /// The kernel or the user lacks a feature the sandbox needs.
    Unsupported,
    /// The kernel refused a step for lack of permission.
    PermissionDenied,
    /// A file, directory or program was not found.
    NotFound,
    /// Setting up the sandbox failed for another reason.
    Setup,
    /// Talking to the sandboxed process failed.
    Io,
}

/// Which step of a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Stage {
    Validate,
    Prepare,
    Clone,
    Userns,
    Idmap,
    Cgroup,
    Mount,
    Network,
    Hostname,
    Credentials,
    Capabilities,
    Exec,
    Wait,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Validate => "validate",
            Stage::Prepare => "prepare",
            Stage::Clone => "clone",
            Stage::Userns => "userns",
            Stage::Idmap => "idmap",
            Stage::Cgroup => "cgroup",
            Stage::Mount => "mount",
            Stage::Network => "network",
            Stage::Hostname => "hostname",
            Stage::Credentials => "credentials",
            Stage::Capabilities => "capabilities",
            Stage::Exec => "exec",
            Stage::Wait => "wait",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    IdMap(#[from] IdMapError),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(ConfigError::CommandNotFound { .. }) => ErrorKind::NotFound,
            Error::Config(_) => ErrorKind::InvalidConfig,
            Error::IdMap(e) => e.kind(),
            Error::Spawn(e) => e.kind(),
            Error::Cgroup(e) => e.kind(),
        }
    }

    pub fn stage(&self) -> Stage {
        match self {
            Error::Config(_) => Stage::Validate,
            Error::IdMap(_) => Stage::Idmap,
            Error::Spawn(e) => e.stage(),
            Error::Cgroup(_) => Stage::Cgroup,
        }
    }

    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Config(_) => None,
            Error::IdMap(e) => e.errno(),
            Error::Spawn(e) => e.errno(),
            Error::Cgroup(e) => e.errno(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Config(ConfigError::MissingRootfs { path })
            | Error::Config(ConfigError::MissingSource { path, .. })
            | Error::Config(ConfigError::RelativeTarget { path, .. })
            | Error::Config(ConfigError::DotDotTarget { path, .. })
            | Error::Config(ConfigError::RelativeCwd { path }) => Some(path),
            Error::Spawn(e) => e.path(),
            Error::Cgroup(e) => e.path(),
            _ => None,
        }
    }
}

/// Maps an errno to the kind a caller can act on.
pub(crate) fn kind_of_errno(errno: i32) -> ErrorKind {
    match errno {
        libc::EPERM | libc::EACCES => ErrorKind::PermissionDenied,
        libc::ENOENT | libc::ENOTDIR => ErrorKind::NotFound,
        libc::ENOSYS | libc::EOPNOTSUPP | libc::ENODEV => ErrorKind::Unsupported,
        _ => ErrorKind::Setup,
    }
}
