//! Checks a config before anything touches the kernel, so bad input is an
//! error that names the field and the fix, never a half-built sandbox.

use super::{IdMapping, Mount, RootFs, SandboxConfig};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{field}: '{value}' is not a size; use a number of bytes with an optional k, m, g or t suffix (e.g. 64m)")]
    BadSize { field: String, value: String },
    #[error("rootfs: {path} does not exist or is not a directory; give an existing directory to use as /")]
    MissingRootfs { path: PathBuf },
    #[error("{field}: mount target '{path}' must be an absolute path inside the sandbox (e.g. /data)")]
    RelativeTarget { field: String, path: PathBuf },
    #[error("{field}: mount target '{path}' must not contain '..' components")]
    DotDotTarget { field: String, path: PathBuf },
    #[error("{field}: mount target '/' would hide the root filesystem; use rootfs for that")]
    RootTarget { field: String },
    #[error("{field}: bind source {path} does not exist: {reason}; create it or fix the path")]
    MissingSource { field: String, path: PathBuf, reason: String },
    #[error("{field}: '{value}' is invalid: {fix}")]
    Invalid { field: String, value: String, fix: String },
    #[error("command: the argument list is empty; give the program to run")]
    EmptyCommand,
    #[error(
        "command: '{program}' not found in the sandbox (PATH={path}); give an absolute path or mount the directory that holds it"
    )]
    CommandNotFound { program: String, path: String },
    #[error("cwd: '{path}' must be an absolute path inside the sandbox")]
    RelativeCwd { path: PathBuf },
    #[error("{field}: contains a NUL byte, which no Linux path, argument or variable can hold")]
    NulByte { field: String },
    #[error("id_mapping: host-root keeps real root and needs a root caller; drop it or run as root")]
    HostRootNeedsRoot,
}

impl SandboxConfig {
    /// Validates everything that can be known before the clone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let RootFs::Dir(dir) = &self.rootfs
            && !dir.is_dir()
        {
            return Err(ConfigError::MissingRootfs { path: dir.clone() });
        }
        for (i, m) in self.mounts.iter().enumerate() {
            validate_mount(i, m)?;
        }
        if !self.cwd.is_absolute() {
            return Err(ConfigError::RelativeCwd { path: self.cwd.clone() });
        }
        if self.hostname.is_empty() || self.hostname.len() > 64 || self.hostname.contains(['\0', '/']) {
            return Err(ConfigError::Invalid {
                field: "hostname".into(),
                value: self.hostname.clone(),
                fix: "use 1 to 64 characters without '/' or NUL".into(),
            });
        }
        for (k, _) in &self.env {
            if k.is_empty() || k.contains('=') {
                return Err(ConfigError::Invalid {
                    field: "env".into(),
                    value: k.clone(),
                    fix: "variable names must be non-empty and contain no '='; write KEY=VALUE".into(),
                });
            }
        }
        crate::caps::mask(&self.cap_add)?;
        if self.id_mapping == IdMapping::HostRoot && !nix::unistd::geteuid().is_root() {
            return Err(ConfigError::HostRootNeedsRoot);
        }
        Ok(())
    }
}

fn validate_mount(index: usize, m: &Mount) -> Result<(), ConfigError> {
    let field = format!("mounts[{index}]");
    let target = match m {
        Mount::Bind { source, target, .. } => {
            if let Err(e) = std::fs::metadata(source) {
                return Err(ConfigError::MissingSource { field, path: source.clone(), reason: e.kind().to_string() });
            }
            target
        }
        Mount::Tmpfs { target, .. } => target,
    };
    check_target(&field, target)
}

/// A mount target must be absolute, free of `..`, and not `/` itself.
pub(crate) fn check_target(field: &str, target: &Path) -> Result<(), ConfigError> {
    if !target.is_absolute() {
        return Err(ConfigError::RelativeTarget { field: field.into(), path: target.into() });
    }
    if target.components().any(|c| c == Component::ParentDir) {
        return Err(ConfigError::DotDotTarget { field: field.into(), path: target.into() });
    }
    if target.components().all(|c| c == Component::RootDir || c == Component::CurDir) {
        return Err(ConfigError::RootTarget { field: field.into() });
    }
    Ok(())
}
