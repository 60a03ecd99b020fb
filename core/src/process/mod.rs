//! Spawning and supervising a sandbox: the parent (`spawn`), the child
//! (`child`), the frames between them (`sync`), the outcome (`exit`) and the
//! supervision loop (`supervise`).

pub mod child;
pub mod exit;
pub mod spawn;
pub mod supervise;
pub mod sync;

use crate::error::{ErrorKind, Stage, kind_of_errno};
use crate::mount::rootfs::MountStep;
use child::ChildPlan;
use std::path::{Path, PathBuf};
use sync::{FailureFrame, step};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    #[error("{what} failed: {}", errno_text(*errno))]
    Prepare { what: &'static str, errno: i32 },
    #[error("creating the sandbox namespaces (clone) failed: {}; {hint}", errno_text(*errno))]
    Clone { errno: i32, hint: &'static str },
    #[error("{stage} step failed while {doing}: {}{}", errno_text(*errno), hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    Child {
        stage: &'static str,
        stage_enum: Stage,
        doing: String,
        errno: i32,
        path: Option<PathBuf>,
        hint: Option<String>,
    },
    #[error("command: '{program}' {}", if *errno == libc::ENOENT { "not found in the sandbox; give an absolute path or mount the directory that holds it".to_string() } else { format!("cannot be executed: {}", errno_text(*errno)) })]
    Exec { program: String, errno: i32 },
    #[error(
        "the sandbox setup did not finish within the run's timeout; a mount source may hang (e.g. a dead network filesystem)"
    )]
    SetupTimeout,
    #[error("{what} failed: {source}")]
    Io { what: &'static str, source: std::io::Error },
}

fn rlimit_name(resource: libc::c_int) -> &'static str {
    const NAMES: [(libc::__rlimit_resource_t, &str); 5] = [
        (libc::RLIMIT_AS, "RLIMIT_AS (memory)"),
        (libc::RLIMIT_NPROC, "RLIMIT_NPROC (pids)"),
        (libc::RLIMIT_CPU, "RLIMIT_CPU (cpu_time)"),
        (libc::RLIMIT_NOFILE, "RLIMIT_NOFILE (nofile)"),
        (libc::RLIMIT_FSIZE, "RLIMIT_FSIZE (fsize)"),
    ];
    NAMES.iter().find(|(r, _)| *r as libc::c_int == resource).map_or("an rlimit", |(_, n)| n)
}

fn errno_text(errno: i32) -> String {
    let e = nix::errno::Errno::from_raw(errno);
    format!("{} ({:?})", e.desc().to_lowercase(), e)
}

impl SpawnError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SpawnError::Clone { errno, .. } => match *errno {
                libc::EPERM | libc::ENOSPC | libc::EUSERS | libc::EINVAL => ErrorKind::Unsupported,
                e => kind_of_errno(e),
            },
            SpawnError::Exec { errno, .. } => kind_of_errno(*errno),
            SpawnError::Child { errno, .. } | SpawnError::Prepare { errno, .. } => kind_of_errno(*errno),
            SpawnError::Io { .. } => ErrorKind::Io,
            SpawnError::SetupTimeout => ErrorKind::Setup,
        }
    }

    pub fn stage(&self) -> Stage {
        match self {
            SpawnError::Prepare { .. } => Stage::Prepare,
            SpawnError::Clone { .. } => Stage::Clone,
            SpawnError::Child { stage_enum, .. } => *stage_enum,
            SpawnError::Exec { .. } => Stage::Exec,
            SpawnError::Io { .. } | SpawnError::SetupTimeout => Stage::Wait,
        }
    }

    pub fn errno(&self) -> Option<i32> {
        match self {
            SpawnError::Prepare { errno, .. }
            | SpawnError::Clone { errno, .. }
            | SpawnError::Child { errno, .. }
            | SpawnError::Exec { errno, .. } => Some(*errno),
            SpawnError::Io { source, .. } => source.raw_os_error(),
            SpawnError::SetupTimeout => Some(libc::ETIMEDOUT),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            SpawnError::Child { path, .. } => path.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn from_clone(errno: i32) -> SpawnError {
        let hint = match errno {
            libc::ENOSPC | libc::EUSERS => {
                "the user namespace limit is reached or zero: raise it with `sysctl -w user.max_user_namespaces=15000`"
            }
            libc::EPERM => {
                "unprivileged user namespaces are disabled: set `sysctl -w kernel.unprivileged_userns_clone=1` (Debian) or `kernel.apparmor_restrict_unprivileged_userns=0` (Ubuntu), or allow clone(CLONE_NEWUSER) in the outer container's seccomp profile"
            }
            libc::EINVAL => {
                "the kernel lacks a requested namespace type; turn that namespace off or run `sandbox check`"
            }
            libc::ENOMEM => "out of memory or the pid namespace nesting limit was reached",
            libc::EMFILE | libc::ENFILE => {
                "this process is out of file descriptors (each live sandbox handle holds a pidfd): \
                 drop ended handles, or raise RLIMIT_NOFILE (ulimit -n)"
            }
            libc::EAGAIN => "the process or thread limit is reached (RLIMIT_NPROC or kernel.threads-max)",
            _ => "run `sandbox check` to see what this kernel allows",
        };
        SpawnError::Clone { errno, hint }
    }

    /// Turns the child's binary frame into an error naming the step and path.
    pub(crate) fn from_frame(frame: FailureFrame, plan: &ChildPlan) -> SpawnError {
        let errno = frame.errno;
        if frame.step == step::EXEC {
            let program = plan
                .exec_paths
                .first()
                .map(|p| p.to_string_lossy().rsplit('/').next().unwrap_or_default().to_string())
                .unwrap_or_default();
            let program =
                if plan.exec_paths.len() == 1 { plan.exec_paths[0].to_string_lossy().into_owned() } else { program };
            return SpawnError::Exec { program, errno };
        }
        let stage_enum = spawn::stage_of_step(frame.step);
        let (doing, path, hint) = describe_step(frame, plan);
        SpawnError::Child { stage: stage_enum.as_str(), stage_enum, doing, errno, path, hint }
    }
}

fn describe_step(frame: FailureFrame, plan: &ChildPlan) -> (String, Option<PathBuf>, Option<String>) {
    if frame.step >= step::MOUNT_BASE {
        let what = MountStep::from_u32(frame.step - step::MOUNT_BASE);
        let op = plan.mount.as_ref().and_then(|m| m.ops.get(frame.index as usize));
        let doing = match (what, op) {
            (Some(w), Some(op)) => format!("{} for '{}'", w.describe(), op.describe()),
            (Some(w), None) => w.describe().to_string(),
            (None, _) => "setting up mounts".to_string(),
        };
        let path = op.map(|op| match op {
            crate::mount::Op::Bind { source, .. } => PathBuf::from(source.to_string_lossy().into_owned()),
            crate::mount::Op::Fs { target, .. }
            | crate::mount::Op::ReadOnly { target }
            | crate::mount::Op::Mask { target } => Path::new("/").join(target.to_string_lossy().as_ref()),
            crate::mount::Op::Symlink { parent, name, .. } => {
                Path::new("/").join(parent.to_string_lossy().as_ref()).join(name.to_string_lossy().as_ref())
            }
        });
        let hint = match frame.errno {
            libc::EACCES => Some(
                "the sandbox's ids cannot reach that path; make it readable (and its parents searchable) by them"
                    .into(),
            ),
            libc::EROFS => {
                Some("the rootfs is read-only and lacks this mount point; create it in the rootfs first".into())
            }
            libc::ENOSYS => Some("this kernel lacks the new mount API (Linux 5.12 or later is needed)".into()),
            _ => None,
        };
        return (doing, path, hint);
    }
    let doing = match frame.step {
        step::WAIT_PARENT => "waiting for the id maps".to_string(),
        step::HOSTNAME => "setting the hostname".to_string(),
        step::LOOPBACK => "bringing up the loopback interface".to_string(),
        step::INIT_IDS => "becoming root inside the sandbox".to_string(),
        step::SETGROUPS => "dropping supplementary groups".to_string(),
        step::SETGID => format!("switching to gid {}", frame.index),
        step::SETUID => format!("switching to uid {}", frame.index),
        step::CAPS => "dropping capabilities".to_string(),
        step::NO_NEW_PRIVS => "setting no_new_privs".to_string(),
        step::CWD => format!("changing to the working directory {}", plan.cwd.to_string_lossy()),
        step::SIGNALS => "setting up signals".to_string(),
        step::FORK => "starting the workload".to_string(),
        step::CLOSE_FDS => "closing inherited file descriptors".to_string(),
        step::KEYRING => "joining a fresh session keyring".to_string(),
        step::INNER_USERNS => "mapping the workload's inner user namespace".to_string(),
        step::CGROUPNS => "creating the cgroup namespace".to_string(),
        step::RLIMIT => match plan.rlimits.get(frame.index as usize) {
            Some((resource, soft, _)) => format!("setting resource limit {} to {soft}", rlimit_name(*resource)),
            None => "setting a resource limit".to_string(),
        },
        step::NESTED_USERNS => "forbidding nested user namespaces (/proc/sys/user/max_user_namespaces)".to_string(),
        _ => "setting up the sandbox".to_string(),
    };
    let path = (frame.step == step::CWD).then(|| PathBuf::from(plan.cwd.to_string_lossy().into_owned()));
    (doing, path, None)
}
