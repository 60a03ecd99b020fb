//! Mounts: the plan (built in the parent) and the rootfs executor (run in
//! the child).

pub mod plan;
pub mod rootfs;

pub use plan::{MountPlan, Op, RootOp};
