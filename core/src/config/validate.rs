//! Checks a config before anything touches the kernel, so bad input is an
//! error that names the field and the fix, never a half-built sandbox.

use super::{IdMapping, Limits, Mount, RootFs, SandboxConfig};
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
                value: self.hostname.chars().take(80).collect(),
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
        for (field, id) in [("uid", self.uid), ("gid", self.gid)] {
            if id == u32::MAX {
                return Err(ConfigError::Invalid {
                    field: field.into(),
                    value: id.to_string(),
                    fix: "4294967295 is (uid_t)-1, which the kernel reserves; use 0 to 4294967294".into(),
                });
            }
        }
        self.limits.validate()?;
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
                return Err(ConfigError::MissingSource { field, path: source.clone(), reason: os_reason(&e) });
            }
            target
        }
        Mount::Tmpfs { target, mode, .. } => {
            if let Some(mode) = mode.filter(|m| *m > 0o7777) {
                return Err(ConfigError::Invalid {
                    field: format!("{field} mode"),
                    value: format!("{mode:o}"),
                    fix: "a tmpfs mode is at most 07777 (octal), e.g. 01777 or 0700".into(),
                });
            }
            target
        }
    };
    check_target(&field, target)
}

/// The kernel's words for an I/O error ("no such file or directory"), not
/// Rust's ("entity not found").
fn os_reason(e: &std::io::Error) -> String {
    let text = e.raw_os_error().map_or_else(|| e.to_string(), |n| nix::errno::Errno::from_raw(n).desc().to_string());
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |c| c.to_lowercase().chain(chars).collect())
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

impl Limits {
    /// The cgroup parent alone (the config's, else SANDBOX_CGROUP_PARENT).
    pub fn validate_parent(&self) -> Result<(), ConfigError> {
        if let Some(p) = &self.cgroup_parent {
            check_cgroup_parent("limits.cgroup_parent", p)
        } else if let Some(p) = std::env::var_os("SANDBOX_CGROUP_PARENT").filter(|p| !p.is_empty()) {
            check_cgroup_parent("SANDBOX_CGROUP_PARENT", std::path::Path::new(&p))
        } else {
            Ok(())
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, value: String, fix: &str| {
            Err(ConfigError::Invalid { field: format!("limits.{field}"), value, fix: fix.into() })
        };
        if let Some(m) = self.memory.filter(|m| *m < 1 << 20) {
            return bad("memory", m.to_string(), "give at least 1 MiB (e.g. 64m); a sandbox cannot start in less");
        }
        if self.pids == Some(0) {
            return bad("pids", "0".into(), "allow at least 1 task (the command itself)");
        }
        if let Some(c) = self.cpus.filter(|c| !c.is_finite() || *c < 0.01 || *c > 4096.0) {
            return bad("cpus", c.to_string(), "give a number of CPUs from 0.01 up, e.g. 0.5");
        }
        if let Some(w) = self.cpu_weight.filter(|w| !(1..=10000).contains(w)) {
            return bad("cpu_weight", w.to_string(), "give a weight from 1 to 10000 (default 100)");
        }
        if let Some(t) = self.cpu_time.filter(|t| t.is_zero()) {
            return bad("cpu_time", format!("{t:?}"), "give at least one second of CPU time");
        }
        if let Some(n) = self.nofile.filter(|n| *n < 3) {
            return bad("nofile", n.to_string(), "allow at least 3 open files (stdin, stdout, stderr)");
        }
        if self.fsize == Some(0) {
            return bad("fsize", "0".into(), "give a size in bytes (e.g. 10m); 0 forbids writing any file");
        }
        self.validate_parent()
    }
}

/// A cgroup parent is a relative UTF-8 path of plain components: it is
/// joined to each hierarchy's mount point and must never leave it.
pub fn check_cgroup_parent(field: &str, p: &std::path::Path) -> Result<(), ConfigError> {
    let ok = p.to_str().is_some()
        && !p.as_os_str().is_empty()
        && p.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if ok {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        field: field.into(),
        value: p.display().to_string(),
        fix: "give a relative UTF-8 path below each cgroup hierarchy's root, e.g. sandbox-1000".into(),
    })
}
