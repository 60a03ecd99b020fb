//! `SandboxConfig`: the one model of a run. Every front door (builder, CLI
//! flags, later C setters, Python kwargs, OCI config.json) produces one; the
//! spawn engine only consumes it.

mod builder;
mod size;
mod validate;

pub use builder::SandboxBuilder;
pub use size::parse_size;
pub use validate::{ConfigError, check_cgroup_parent};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Which namespaces a sandbox gets. The user namespace is always new: it is
/// what makes the sandbox rootless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Namespaces {
    pub mount: bool,
    pub pid: bool,
    pub ipc: bool,
    pub uts: bool,
    pub net: bool,
    pub cgroup: bool,
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces { mount: true, pid: true, ipc: true, uts: true, net: true, cgroup: true }
    }
}

/// How ids inside the sandbox map to host ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdMapping {
    /// Rootless: one id, the caller's, seen as `uid`/`gid` inside.
    /// Root caller: a private range of 65536 unprivileged host ids per
    /// sandbox, so sandbox root is nobody on the host.
    #[default]
    Auto,
    /// The caller's id as root plus the caller's subordinate range from
    /// /etc/subuid and /etc/subgid, written by newuidmap/newgidmap.
    Subordinate,
    /// Root callers only: sandbox root is real host root. Explicit opt-in.
    HostRoot,
}

/// The root filesystem of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootFs {
    /// Read-only binds of /usr, /bin, /sbin, /lib, /lib64, /etc on a fresh
    /// read-only tmpfs root, plus private /tmp, /proc and a minimal /dev.
    #[default]
    HostView,
    /// A directory used as `/` (writable unless `read_only`).
    Dir(PathBuf),
}

/// One extra mount, applied in order after the rootfs is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Mount {
    Bind {
        source: PathBuf,
        target: PathBuf,
        #[serde(default)]
        readonly: bool,
    },
    Tmpfs {
        target: PathBuf,
        #[serde(default)]
        size: Option<u64>,
        #[serde(default)]
        mode: Option<u32>,
    },
}

/// Resource limits. Each is enforced by the best mechanism the host offers
/// the caller — a cgroup v2 or v1 controller, else an rlimit — and the
/// outcome reports which (`Outcome::limits`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Memory in bytes: a hard limit, swap off where the controller allows
    /// (fallback: RLIMIT_AS, which counts address space, not memory).
    pub memory: Option<u64>,
    /// Tasks (processes and threads) besides init (fallback: RLIMIT_NPROC,
    /// counted per user namespace, so only the sandbox's own tasks).
    pub pids: Option<u64>,
    /// CPU bandwidth as a number of CPUs (0.5 = half of one); cgroup only.
    pub cpus: Option<f64>,
    /// Relative CPU weight, 1 to 10000 (default 100); cgroup only.
    pub cpu_weight: Option<u64>,
    /// CPU seconds per process (RLIMIT_CPU: SIGXCPU, then SIGKILL a second
    /// later); reported as `cpu_time_exceeded`.
    #[serde(with = "duration_opt")]
    pub cpu_time: Option<Duration>,
    /// Open files per process (RLIMIT_NOFILE).
    pub nofile: Option<u64>,
    /// Largest file a process may write, in bytes (RLIMIT_FSIZE).
    pub fsize: Option<u64>,
    /// Refuse to start when a cgroup limit (memory, pids, cpus, cpu_weight)
    /// cannot be enforced by a cgroup.
    pub strict: bool,
    /// Parent directory of the sandbox cgroups, relative to each cgroup
    /// hierarchy's root. Default: `SANDBOX_CGROUP_PARENT`, else `sandbox`
    /// for root (created on first use) or `sandbox-<uid>` (delegated once by
    /// an administrator).
    pub cgroup_parent: Option<PathBuf>,
}

impl Limits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.memory.is_some()
            || self.pids.is_some()
            || self.cpus.is_some()
            || self.cpu_weight.is_some()
            || self.cpu_time.is_some()
            || self.nofile.is_some()
            || self.fsize.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// A new network namespace with only `lo`, brought up.
    #[default]
    None,
    /// The host's network namespace.
    Host,
}

/// The one model of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    pub namespaces: Namespaces,
    pub id_mapping: IdMapping,
    /// uid of the workload inside the sandbox.
    pub uid: u32,
    /// gid of the workload inside the sandbox.
    pub gid: u32,
    pub rootfs: RootFs,
    /// Make the root itself read-only (always so for the host view).
    pub read_only: bool,
    pub mounts: Vec<Mount>,
    /// Environment of the workload; nothing of the host's is passed on.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub hostname: String,
    pub network: Network,
    #[serde(with = "duration_opt")]
    pub timeout: Option<Duration>,
    /// Bytes kept of each captured stream; the rest is read and dropped
    /// (and `*_truncated` set). `None` keeps everything.
    pub output_limit: Option<u64>,
    /// Capabilities the workload keeps (inside its user namespace only);
    /// none by default. Names as `docker run --cap-add`: CHOWN, SETUID, ALL.
    pub cap_add: Vec<String>,
    /// Let the workload create user namespaces of its own (off by default:
    /// they open kernel attack surface such as nf_tables).
    pub nested_userns: bool,
    /// Resource limits (none by default).
    pub limits: Limits,
}

/// Bytes of each captured stream kept by default (64 MiB): output from an
/// untrusted workload must not grow the host without bound.
pub const DEFAULT_OUTPUT_LIMIT: u64 = 64 << 20;

/// PATH used when the caller sets none: the usual FHS directories.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            namespaces: Namespaces::default(),
            id_mapping: IdMapping::Auto,
            uid: 0,
            gid: 0,
            rootfs: RootFs::HostView,
            read_only: false,
            mounts: Vec::new(),
            env: Vec::new(),
            cwd: PathBuf::from("/"),
            hostname: "sandbox".to_string(),
            network: Network::None,
            timeout: None,
            output_limit: Some(DEFAULT_OUTPUT_LIMIT),
            cap_add: Vec::new(),
            nested_userns: false,
            limits: Limits::default(),
        }
    }
}

impl SandboxConfig {
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The network namespace is on unless the host network is asked for.
    pub fn wants_net_namespace(&self) -> bool {
        self.namespaces.net && self.network == Network::None
    }
}

mod duration_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let secs: Option<f64> = Option::deserialize(d)?;
        secs.map(|s| Duration::try_from_secs_f64(s).map_err(serde::de::Error::custom)).transpose()
    }
}
