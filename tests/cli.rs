//! The `sandbox` CLI: transcripts of the README's promises and the exit
//! statuses of DESIGN.md, as root and again as uid 65534.

mod common;

use common::{TempDir, text};
use std::process::Output;

fn sandbox(args: &[&str]) -> Output {
    let cli = common::cli();
    common::retry_busy(|| std::process::Command::new(&cli.path).args(args).output()).unwrap()
}

both! {
    fn run_id_prints_uid_zero() {
        let out = sandbox(&["run", "--", "id"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("uid=0(root) gid=0(root)"), "{}", text(&out.stdout));
    }
}

both! {
    fn shell_sees_itself_as_pid_one_or_two() {
        let out = sandbox(&["run", "--", "sh", "-c", "echo $$"]);
        let pid = text(&out.stdout);
        assert!(pid == "1\n" || pid == "2\n", "{pid}");
    }
}

both! {
    fn exit_statuses_follow_docker() {
        let code = |args: &[&str]| sandbox(args).status.code();
        assert_eq!(code(&["run", "--", "sh", "-c", "exit 7"]), Some(7));
        assert_eq!(code(&["run", "--", "sh", "-c", "kill -TERM $$"]), Some(143));
        assert_eq!(code(&["run", "--timeout", "200ms", "--", "sleep", "10"]), Some(124));
        assert_eq!(code(&["run", "--", "no-such-command-xyz"]), Some(127));
        assert_eq!(code(&["run", "--", "/etc/hostname"]), Some(126));
        assert_eq!(code(&["run", "--rootfs", "/nonexistent", "--", "true"]), Some(125));
        // A missing working directory is a setup failure, not "not found".
        assert_eq!(code(&["run", "-w", "/no/such/dir", "--", "true"]), Some(125));
    }
}

both! {
    fn bad_flags_are_setup_errors_naming_the_flag() {
        let out = sandbox(&["run", "--no-such-flag", "--", "true"]);
        assert_eq!(out.status.code(), Some(125));
        assert!(text(&out.stderr).contains("--no-such-flag"), "{}", text(&out.stderr));
        let out = sandbox(&["run", "--tmpfs", "/x:size=lots", "--", "true"]);
        assert_eq!(out.status.code(), Some(125));
        assert!(text(&out.stderr).contains("--tmpfs size: 'lots' is not a size"), "{}", text(&out.stderr));
        let out = sandbox(&["run", "-v", "/usr", "--", "true"]);
        assert!(text(&out.stderr).contains("--volume: '/usr' is not SRC:DST"), "{}", text(&out.stderr));
        let out = sandbox(&["run", "-v", "/usr:rel", "--", "true"]);
        assert!(text(&out.stderr).contains("must be an absolute path"), "{}", text(&out.stderr));
    }
}

both! {
    fn flags_reach_the_sandbox() {
        let dir = TempDir::new("cli-flags");
        dir.file("in", "bound\n");
        let vol = format!("{}:/data:ro", dir.path().display());
        let out = sandbox(&[
            "run", "-e", "GREETING=hi", "-w", "/data", "--hostname", "clibox", "-v", &vol,
            "--tmpfs", "/scratch:size=1m", "-u", "1000:1000", "--",
            "sh", "-c", "echo $GREETING; pwd; hostname; cat in; id -u; df -k /scratch | tail -1 | awk '{print $2}'",
        ]);
        assert_eq!(text(&out.stdout), "hi\n/data\nclibox\nbound\n1000\n1024\n", "{}", text(&out.stderr));
    }
}

both! {
    fn report_writes_the_outcome_as_json() {
        let out = sandbox(&["run", "--report", "-", "--", "sh", "-c", "exit 3"]);
        assert_eq!(out.status.code(), Some(3));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["exit_code"], 3);
        assert_eq!(json["timed_out"], false);
        assert!(json["wall_time"].as_f64().unwrap() > 0.0);
        let dir = TempDir::new("report");
        let file = dir.path().join("r.json");
        let out = sandbox(&["run", "--timeout", "100ms", "--report", file.to_str().unwrap(), "--", "sleep", "5"]);
        assert_eq!(out.status.code(), Some(124));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!((json["timed_out"].as_bool(), json["signal"].as_i64()), (Some(true), Some(9)));
        // A setup failure is reported too, with the stage and the reason.
        let out = sandbox(&["run", "--report", "-", "-w", "/no/such/dir", "--", "true"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["error"]["stage"], "exec");
        assert_eq!(json["error"]["exit_status"], 125);
        assert!(json["error"]["message"].as_str().unwrap().contains("/no/such/dir"), "{json}");
    }
}

both! {
    fn host_network_and_shared_namespaces() {
        let out = sandbox(&["run", "--network", "host", "--", "sh", "-c", "tail -n +3 /proc/net/dev | wc -l"]);
        let host_ifaces = std::fs::read_to_string("/proc/net/dev").unwrap().lines().count() - 2;
        assert_eq!(text(&out.stdout).trim(), host_ifaces.to_string());
        let out = sandbox(&["run", "--share", "uts", "--", "hostname"]);
        assert_eq!(text(&out.stdout).trim(), nix::unistd::gethostname().unwrap().to_string_lossy());
    }
}

both! {
    fn sigterm_to_the_cli_reaches_the_workload() {
        let cli = common::cli();
        let mut child = common::retry_busy(|| {
            std::process::Command::new(&cli.path)
                .args(["run", "--", "sh", "-c", "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.05; done"])
                .stdout(std::process::Stdio::piped())
                .spawn()
        })
        .unwrap();
        let mut ready = [0u8; 6];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut ready).unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(5));
        assert_eq!(text(&out.stdout), "got-term\n");
    }
}
