//! Engine errors become the pure-Python exceptions of `sandbox._errors`.
//! The mapping table lives there (one place, next to the classes, as
//! docs/errors.md has it); this side only hands over the stable fields.

use pyo3::prelude::*;
use sandbox_core::cgroup::CgroupError;
use sandbox_core::{Error, ErrorKind};

/// The stable name of a kind, as `sandbox._errors.from_core` expects it.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidConfig => "invalid_config",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::PermissionDenied => "permission_denied",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Setup => "setup",
        ErrorKind::Io => "io",
        // A kind added to the engine later is at least a setup failure.
        _ => "setup",
    }
}

/// The limit a strict-limits refusal is about ("memory", "pids", ...).
fn limit_of(e: &Error) -> Option<&'static str> {
    match e {
        Error::Cgroup(CgroupError::NoCgroup { limit, .. }) => Some(limit),
        _ => None,
    }
}

/// Builds the Python exception for an engine error. Should the pure-Python
/// half itself be broken, that import error is what the caller sees.
pub fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("sandbox._errors")?;
        let path = e.path().map(|p| p.to_path_buf());
        let exc = module.getattr("from_core")?.call1((
            kind_name(e.kind()),
            e.stage().as_str(),
            e.errno(),
            path,
            e.to_string(),
            limit_of(e),
        ))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}

/// A `ConfigError` for a value this side refuses (the Python half checks
/// first; this is the backstop for direct callers of `_sandbox`).
pub fn config_error(py: Python<'_>, message: String) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("sandbox._errors")?;
        let exc = module.getattr("ConfigError")?.call1((message,))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}
