//! Fixed binary frames between the child and the parent (crun's
//! `send_error_to_sync_socket`): the child cannot allocate or format, so it
//! sends numbers and the parent turns them into a rich error.

/// The child failed at `step` with `errno`; `index` points into the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureFrame {
    pub step: u32,
    pub errno: i32,
    pub index: u32,
}

pub const FAILURE_FRAME_LEN: usize = 12;

impl FailureFrame {
    pub fn encode(self) -> [u8; FAILURE_FRAME_LEN] {
        let mut b = [0u8; FAILURE_FRAME_LEN];
        b[..4].copy_from_slice(&self.step.to_le_bytes());
        b[4..8].copy_from_slice(&self.errno.to_le_bytes());
        b[8..].copy_from_slice(&self.index.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<FailureFrame> {
        if b.len() != FAILURE_FRAME_LEN {
            return None;
        }
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        Some(FailureFrame {
            step: u32::from_le_bytes(word(0)),
            errno: i32::from_le_bytes(word(4)),
            index: u32::from_le_bytes(word(8)),
        })
    }
}

/// Init's report of the workload's raw wait status, sent on the lifeline.
pub const STATUS_TAG: u32 = 0x5354_4154; // "STAT"
/// The same, when init itself killed the sandbox at the run's timeout.
pub const TIMED_OUT_TAG: u32 = 0x544f_5554; // "TOUT"
pub const STATUS_FRAME_LEN: usize = 8;

pub fn encode_status(status: i32, timed_out: bool) -> [u8; STATUS_FRAME_LEN] {
    let mut b = [0u8; STATUS_FRAME_LEN];
    let tag = if timed_out { TIMED_OUT_TAG } else { STATUS_TAG };
    b[..4].copy_from_slice(&tag.to_le_bytes());
    b[4..].copy_from_slice(&status.to_le_bytes());
    b
}

/// The wait status, and whether init's own timer ended the run.
pub fn decode_status(b: &[u8]) -> Option<(i32, bool)> {
    if b.len() != STATUS_FRAME_LEN {
        return None;
    }
    let timed_out = match u32::from_le_bytes([b[0], b[1], b[2], b[3]]) {
        STATUS_TAG => false,
        TIMED_OUT_TAG => true,
        _ => return None,
    };
    Some((i32::from_le_bytes([b[4], b[5], b[6], b[7]]), timed_out))
}

/// Steps of the child outside the mount setup (mount steps are 1..=99 and
/// carried as `100 + MountStep`).
pub mod step {
    pub const WAIT_PARENT: u32 = 1;
    pub const HOSTNAME: u32 = 2;
    pub const LOOPBACK: u32 = 3;
    pub const INIT_IDS: u32 = 4;
    pub const SIGNALS: u32 = 5;
    pub const FORK: u32 = 6;
    pub const CWD: u32 = 7;
    pub const CAPS: u32 = 8;
    pub const SETGROUPS: u32 = 9;
    pub const SETGID: u32 = 10;
    pub const SETUID: u32 = 11;
    pub const NO_NEW_PRIVS: u32 = 12;
    pub const CLOSE_FDS: u32 = 13;
    pub const EXEC: u32 = 14;
    pub const SETSID: u32 = 15;
    pub const FDS: u32 = 16;
    pub const KEYRING: u32 = 17;
    pub const NESTED_USERNS: u32 = 18;
    pub const INNER_USERNS: u32 = 19;
    pub const CGROUPNS: u32 = 20;
    pub const RLIMIT: u32 = 21;
    pub const MOUNT_BASE: u32 = 100;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let f = FailureFrame { step: 105, errno: 13, index: 7 };
        assert_eq!(FailureFrame::decode(&f.encode()), Some(f));
        assert_eq!(decode_status(&encode_status(256, false)), Some((256, false)));
        assert_eq!(decode_status(&encode_status(9, true)), Some((9, true)));
        assert_eq!(decode_status(&[0; 8]), None);
        assert_eq!(FailureFrame::decode(&[0; 3]), None);
    }
}
