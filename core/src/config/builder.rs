//! The Rust front door: a builder that fills a `SandboxConfig` and validates
//! it once, at `build()`.

use super::{IdMapping, Mount, Network, RootFs, SandboxConfig};
use crate::{Error, Sandbox};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct SandboxBuilder {
    config: SandboxConfig,
}

impl SandboxBuilder {
    pub fn from_config(config: SandboxConfig) -> Self {
        SandboxBuilder { config }
    }

    pub fn rootfs(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.rootfs = RootFs::Dir(dir.into());
        self
    }

    pub fn host_view(mut self) -> Self {
        self.config.rootfs = RootFs::HostView;
        self
    }

    pub fn read_only(mut self, on: bool) -> Self {
        self.config.read_only = on;
        self
    }

    pub fn bind(mut self, source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Self {
        self.config.mounts.push(Mount::Bind { source: source.into(), target: target.into(), readonly: false });
        self
    }

    pub fn bind_ro(mut self, source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Self {
        self.config.mounts.push(Mount::Bind { source: source.into(), target: target.into(), readonly: true });
        self
    }

    pub fn tmpfs(mut self, target: impl Into<PathBuf>, size: Option<u64>) -> Self {
        self.config.mounts.push(Mount::Tmpfs { target: target.into(), size, mode: None });
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.config.env.retain(|(k, _)| *k != key);
        self.config.env.push((key, value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.cwd = dir.into();
        self
    }

    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.config.hostname = name.into();
        self
    }

    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.config.uid = uid;
        self.config.gid = gid;
        self
    }

    pub fn id_mapping(mut self, mapping: IdMapping) -> Self {
        self.config.id_mapping = mapping;
        self
    }

    pub fn network(mut self, network: Network) -> Self {
        self.config.network = network;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }

    /// Bytes kept of each captured stream (default 64 MiB).
    pub fn output_limit(mut self, bytes: u64) -> Self {
        self.config.output_limit = Some(bytes);
        self
    }

    /// Keep all captured output, however large.
    pub fn unlimited_output(mut self) -> Self {
        self.config.output_limit = None;
        self
    }

    /// Lets the workload keep a capability (inside its user namespace).
    pub fn cap_add(mut self, name: impl Into<String>) -> Self {
        self.config.cap_add.push(name.into());
        self
    }

    /// Allow the workload to create nested user namespaces.
    /// Memory limit in bytes (hard; swap off where possible).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.config.limits.memory = Some(bytes);
        self
    }

    /// Maximum number of tasks besides init.
    pub fn pids_limit(mut self, n: u64) -> Self {
        self.config.limits.pids = Some(n);
        self
    }

    /// CPU bandwidth as a number of CPUs (0.5 = half of one).
    pub fn cpus(mut self, cpus: f64) -> Self {
        self.config.limits.cpus = Some(cpus);
        self
    }

    /// Relative CPU weight, 1 to 10000 (default 100).
    pub fn cpu_weight(mut self, weight: u64) -> Self {
        self.config.limits.cpu_weight = Some(weight);
        self
    }

    /// CPU time per process; the outcome says `cpu_time_exceeded`.
    pub fn cpu_time_limit(mut self, limit: Duration) -> Self {
        self.config.limits.cpu_time = Some(limit);
        self
    }

    /// Open files per process.
    pub fn nofile_limit(mut self, n: u64) -> Self {
        self.config.limits.nofile = Some(n);
        self
    }

    /// Largest file a process may write, in bytes.
    pub fn fsize_limit(mut self, bytes: u64) -> Self {
        self.config.limits.fsize = Some(bytes);
        self
    }

    /// Refuse to start when a cgroup limit cannot be enforced by a cgroup.
    pub fn strict_limits(mut self, on: bool) -> Self {
        self.config.limits.strict = on;
        self
    }

    /// Parent of the sandbox cgroups, relative to each hierarchy's root.
    pub fn cgroup_parent(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.limits.cgroup_parent = Some(dir.into());
        self
    }

    pub fn nested_userns(mut self, on: bool) -> Self {
        self.config.nested_userns = on;
        self
    }

    pub fn mount_namespace(mut self, on: bool) -> Self {
        self.config.namespaces.mount = on;
        self
    }

    pub fn pid_namespace(mut self, on: bool) -> Self {
        self.config.namespaces.pid = on;
        self
    }

    pub fn ipc_namespace(mut self, on: bool) -> Self {
        self.config.namespaces.ipc = on;
        self
    }

    pub fn uts_namespace(mut self, on: bool) -> Self {
        self.config.namespaces.uts = on;
        self
    }

    pub fn net_namespace(mut self, on: bool) -> Self {
        self.config.namespaces.net = on;
        self
    }

    pub fn cgroup_namespace(mut self, on: bool) -> Self {
        self.config.namespaces.cgroup = on;
        self
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Validates the configuration and returns a reusable sandbox.
    pub fn build(self) -> Result<Sandbox, Error> {
        self.config.validate()?;
        Ok(Sandbox::from_validated(self.config))
    }
}
