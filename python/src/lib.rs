//! `sandbox._sandbox`: the compiled half of the Python door. It turns
//! already-checked keyword values (see `sandbox/_options.py`) into a
//! `SandboxConfig`, spawns commands, and waits on them with the GIL
//! released. Everything a Python user sees — `run`, `Sandbox`, `Process`,
//! the exceptions — is pure Python on top of these few objects.

mod child;
mod config;
mod errors;
mod outcome;

use pyo3::prelude::*;

/// Parses a size such as `"256M"` with the engine's own rules, so the
/// Python door accepts exactly what the CLI and Rust accept.
#[pyfunction]
fn parse_size(py: Python<'_>, field: &str, text: &str) -> PyResult<u64> {
    sandbox_core::config::parse_size(field, text).map_err(|e| errors::to_py(py, &e.into()))
}

/// What this kernel and user can do, as the JSON of `sandbox check --json`.
#[pyfunction]
fn check_json(py: Python<'_>) -> PyResult<String> {
    let report = py.detach(sandbox_core::probe::check);
    serde_json::to_string(&report).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

#[pymodule]
fn _sandbox(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<config::PySandbox>()?;
    m.add_class::<child::PyChild>()?;
    m.add_class::<outcome::PyOutcome>()?;
    m.add_function(wrap_pyfunction!(parse_size, m)?)?;
    m.add_function(wrap_pyfunction!(check_json, m)?)?;
    m.add("DEFAULT_OUTPUT_LIMIT", sandbox_core::config::DEFAULT_OUTPUT_LIMIT)?;
    Ok(())
}
