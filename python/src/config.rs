//! Keyword values → `SandboxConfig` → a validated `sandbox_core::Sandbox`.
//! The names are the and the CLI's; the checks that need the
//! engine's rules (paths, mounts, capabilities) are the engine's own, so a
//! message reads the same from every door.

use crate::child::{PyChild, StdioArg};
use crate::errors::{config_error, to_py};
use pyo3::prelude::*;
use sandbox_core::{IdMapping, Limits, Mount, Network, RootFs, Sandbox, SandboxConfig};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

/// A bind mount, read from `sandbox.Bind` by attribute.
#[derive(FromPyObject)]
struct BindArg {
    #[pyo3(attribute)]
    source: PathBuf,
    #[pyo3(attribute)]
    target: PathBuf,
    #[pyo3(attribute)]
    readonly: bool,
}

/// A tmpfs mount, read from `sandbox.Tmpfs` by attribute (size already in
/// bytes).
#[derive(FromPyObject)]
struct TmpfsArg {
    #[pyo3(attribute)]
    target: PathBuf,
    #[pyo3(attribute)]
    size_bytes: Option<u64>,
    #[pyo3(attribute)]
    mode: Option<u32>,
}

#[derive(FromPyObject)]
enum MountArg {
    Bind(BindArg),
    Tmpfs(TmpfsArg),
}

impl From<MountArg> for Mount {
    fn from(m: MountArg) -> Mount {
        match m {
            MountArg::Bind(b) => Mount::Bind { source: b.source, target: b.target, readonly: b.readonly },
            MountArg::Tmpfs(t) => Mount::Tmpfs { target: t.target, size: t.size_bytes, mode: t.mode },
        }
    }
}

/// The resource limits, already type-checked by the Python half (sizes in
/// bytes, seconds as float); their ranges are the engine's to check.
#[derive(FromPyObject)]
pub struct LimitsArg {
    #[pyo3(item)]
    memory: Option<u64>,
    #[pyo3(item)]
    pids: Option<u64>,
    #[pyo3(item)]
    cpus: Option<f64>,
    #[pyo3(item)]
    cpu_weight: Option<u64>,
    #[pyo3(item)]
    cpu_time: Option<f64>,
    #[pyo3(item)]
    nofile: Option<u64>,
    #[pyo3(item)]
    fsize: Option<u64>,
    #[pyo3(item)]
    strict: bool,
    #[pyo3(item)]
    cgroup_parent: Option<PathBuf>,
}

impl LimitsArg {
    fn into_limits(self, py: Python<'_>) -> PyResult<Limits> {
        let cpu_time = match self.cpu_time {
            None => None,
            Some(secs) => Some(Duration::try_from_secs_f64(secs).map_err(|_| {
                config_error(py, format!("cpu_time: {secs:?} is not a number of seconds >= 0; use e.g. 1 or 2.5"))
            })?),
        };
        Ok(Limits {
            memory: self.memory,
            pids: self.pids,
            cpus: self.cpus,
            cpu_weight: self.cpu_weight,
            cpu_time,
            nofile: self.nofile,
            fsize: self.fsize,
            strict: self.strict,
            cgroup_parent: self.cgroup_parent,
        })
    }
}

/// A validated sandbox configuration, reusable across threads.
#[pyclass(frozen, name = "Sandbox", module = "sandbox._sandbox")]
pub struct PySandbox {
    sandbox: Sandbox,
}

#[pymethods]
impl PySandbox {
    #[new]
    #[pyo3(signature = (
        *, rootfs, read_only, mounts, cwd, hostname, network, timeout, output_limit,
        uid, gid, id_mapping, share, cap_add, nested_userns, limits=None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        rootfs: Option<PathBuf>,
        read_only: bool,
        mounts: Vec<MountArg>,
        cwd: Option<PathBuf>,
        hostname: String,
        network: &str,
        timeout: Option<f64>,
        output_limit: Option<u64>,
        uid: u32,
        gid: u32,
        id_mapping: &str,
        share: Vec<String>,
        cap_add: Vec<String>,
        nested_userns: bool,
        limits: Option<LimitsArg>,
    ) -> PyResult<PySandbox> {
        let mut c = SandboxConfig {
            rootfs: rootfs.map_or(RootFs::HostView, RootFs::Dir),
            read_only,
            mounts: mounts.into_iter().map(Mount::from).collect(),
            hostname,
            output_limit,
            uid,
            gid,
            cap_add,
            nested_userns,
            limits: limits.map(|l| l.into_limits(py)).transpose()?.unwrap_or_default(),
            ..SandboxConfig::default()
        };
        if let Some(cwd) = cwd {
            c.cwd = cwd;
        }
        c.network = network_of(py, network)?;
        c.id_mapping = id_mapping_of(py, id_mapping)?;
        c.timeout = timeout.map(|t| timeout_of(py, t)).transpose()?;
        for ns in &share {
            *namespace_flag(py, &mut c, ns)? = false;
        }
        let sandbox = Sandbox::from_config(c).map_err(|e| to_py(py, &e))?;
        Ok(PySandbox { sandbox })
    }

    /// The configuration as the engine sees it (its serde JSON form).
    fn config_json(&self) -> PyResult<String> {
        serde_json::to_string(self.sandbox.config()).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// Starts `argv` in a new sandbox. `env` adds to the workload's
    /// environment; each stream is None (inherit), -1 (pipe), -3 (null) or
    /// an fd to hand over (duplicated; the caller keeps its own).
    #[pyo3(signature = (argv, env, stdin, stdout, stderr))]
    fn spawn(
        &self,
        py: Python<'_>,
        argv: Vec<Vec<u8>>,
        env: Vec<(Vec<u8>, Vec<u8>)>,
        stdin: Option<i32>,
        stdout: Option<i32>,
        stderr: Option<i32>,
    ) -> PyResult<PyChild> {
        let Some((program, args)) = argv.split_first() else {
            return Err(config_error(py, "args: the command is empty; give at least the program to run".into()));
        };
        let mut cmd = self.sandbox.command(OsStr::from_bytes(program));
        cmd.args(args.iter().map(|a| OsStr::from_bytes(a)));
        for (k, v) in &env {
            cmd.env(OsStr::from_bytes(k), OsStr::from_bytes(v));
        }
        cmd.stdin(StdioArg::parse(py, "stdin", stdin)?.into_stdio());
        cmd.stdout(StdioArg::parse(py, "stdout", stdout)?.into_stdio());
        cmd.stderr(StdioArg::parse(py, "stderr", stderr)?.into_stdio());
        // Setup takes milliseconds (a clone, id maps, mounts): other Python
        // threads run meanwhile.
        let child = py.detach(move || cmd.spawn()).map_err(|e| to_py(py, &e))?;
        Ok(PyChild::new(child))
    }
}

fn network_of(py: Python<'_>, name: &str) -> PyResult<Network> {
    match name {
        "none" => Ok(Network::None),
        "host" => Ok(Network::Host),
        _ => Err(config_error(py, format!("network: '{name}' is not a network mode; use \"none\" or \"host\""))),
    }
}

fn id_mapping_of(py: Python<'_>, name: &str) -> PyResult<IdMapping> {
    match name {
        "auto" => Ok(IdMapping::Auto),
        "subordinate" => Ok(IdMapping::Subordinate),
        "host-root" => Ok(IdMapping::HostRoot),
        _ => Err(config_error(
            py,
            format!("id_mapping: '{name}' is not an id mapping; use \"auto\", \"subordinate\" or \"host-root\""),
        )),
    }
}

fn timeout_of(py: Python<'_>, secs: f64) -> PyResult<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(config_error(py, format!("timeout: {secs:?} is not a positive number of seconds; use e.g. 2 or 0.5"))),
    }
}

fn namespace_flag<'c>(py: Python<'_>, c: &'c mut SandboxConfig, name: &str) -> PyResult<&'c mut bool> {
    let ns = &mut c.namespaces;
    match name {
        "mount" => Ok(&mut ns.mount),
        "pid" => Ok(&mut ns.pid),
        "ipc" => Ok(&mut ns.ipc),
        "uts" => Ok(&mut ns.uts),
        "net" => Ok(&mut ns.net),
        "cgroup" => Ok(&mut ns.cgroup),
        _ => Err(config_error(
            py,
            format!("share: '{name}' is not a namespace; use mount, pid, ipc, uts, net or cgroup"),
        )),
    }
}
