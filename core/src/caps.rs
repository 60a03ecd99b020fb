//! Capability names, as `docker run --cap-add` spells them. Capabilities
//! kept for the workload exist only inside its user namespace.

use crate::config::ConfigError;

/// Linux capability names in number order (CAP_CHOWN = 0 …).
pub const NAMES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The bit mask for `names` (`CHOWN`, `cap_chown`, `CAP_CHOWN` or `ALL`).
pub fn mask(names: &[String]) -> Result<u64, ConfigError> {
    let mut m = 0u64;
    for name in names {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
        if bare == "ALL" {
            m |= (1u64 << NAMES.len()) - 1;
            continue;
        }
        let bit = NAMES.iter().position(|n| *n == bare).ok_or_else(|| ConfigError::Invalid {
            field: "cap_add".into(),
            value: name.clone(),
            fix: "use a capability name such as CHOWN, DAC_OVERRIDE, SETUID or ALL (see capabilities(7))".into(),
        })?;
        m |= 1 << bit;
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kernel_numbers() {
        assert_eq!(mask(&["CHOWN".into()]).unwrap(), 1);
        assert_eq!(mask(&["cap_sys_admin".into()]).unwrap(), 1 << 21);
        assert_eq!(mask(&["CAP_CHECKPOINT_RESTORE".into()]).unwrap(), 1 << 40);
        assert_eq!(mask(&["ALL".into()]).unwrap().count_ones(), 41);
        assert!(mask(&["FLY".into()]).unwrap_err().to_string().starts_with("cap_add: 'FLY' is invalid"));
    }
}
