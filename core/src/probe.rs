//! What this host and user can do. (Being written: see the helper task.)

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub features: Vec<Feature>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    pub name: String,
    pub available: bool,
    pub detail: String,
    pub fix: Option<String>,
}

pub fn check() -> Report {
    Report {
        features: Vec::new(),
    }
}

impl Report {
    pub fn render_table(&self) -> String {
        String::new()
    }
}
