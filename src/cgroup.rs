//! What the container may use, as its control group says (Azure ML, Kubernetes and podman all
//! set limits there): read once at start to pick defaults and to log them.

use std::path::Path;

/// The memory limit of this process's control group, in bytes: cgroup v2 `memory.max`, else
/// v1 `memory.limit_in_bytes`; `None` when there is none.
pub fn memory_limit() -> Option<u64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    memory_limit_in(Path::new("/sys/fs/cgroup"), &membership)
}

/// `memory_limit` under the cgroup file-system root `root`, for the membership lines of
/// `/proc/self/cgroup`.
fn memory_limit_in(root: &Path, membership: &str) -> Option<u64> {
    if let Some(text) = v2_file(root, membership, "memory.max") {
        return limit_value(&text);
    }
    limit_value(&v1_file(root, membership, "memory", "memory.limit_in_bytes")?)
}

/// The CPU quota of this process's control group, in cores (`1.5` for `cpu.max` "150000
/// 100000"): cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`; `None` when
/// there is none. (`std::thread::available_parallelism`, which sizes the runtime, reads the same
/// files and rounds down; this is for the log.)
pub fn cpu_quota() -> Option<f64> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    cpu_quota_in(Path::new("/sys/fs/cgroup"), &membership)
}

fn cpu_quota_in(root: &Path, membership: &str) -> Option<f64> {
    if let Some(text) = v2_file(root, membership, "cpu.max") {
        let mut fields = text.split_whitespace();
        let (quota, period) = (fields.next()?, fields.next()?);
        return cores(quota.parse().ok()?, period.parse().ok()?);
    }
    let number = |file| v1_file(root, membership, "cpu", file)?.trim().parse().ok();
    cores(number("cpu.cfs_quota_us")?, number("cpu.cfs_period_us")?)
}

/// A file of this process's v2 group (the unified hierarchy, "0::/path"), or of the hierarchy's
/// root (inside a container's namespace the root is the container's own group).
fn v2_file(root: &Path, membership: &str, file: &str) -> Option<String> {
    let path = membership.lines().find_map(|line| line.strip_prefix("0::"))?;
    let read = |path: &Path| std::fs::read_to_string(path).ok();
    read(&root.join(path.trim_start_matches('/')).join(file)).or_else(|| read(&root.join(file)))
}

/// A file of this process's v1 group for `controller` ("N:cpu,cpuacct:/path"), or of that
/// hierarchy's root.
fn v1_file(root: &Path, membership: &str, controller: &str, file: &str) -> Option<String> {
    let path = membership
        .lines()
        .find_map(|line| {
            let (_, rest) = line.split_once(':')?;
            let (controllers, path) = rest.split_once(':')?;
            controllers.split(',').any(|c| c == controller).then_some(path)
        })
        .unwrap_or("/");
    let hierarchy = root.join(controller);
    let read = |path: &Path| std::fs::read_to_string(path).ok();
    read(&hierarchy.join(path.trim_start_matches('/')).join(file)).or_else(|| read(&hierarchy.join(file)))
}

/// Cores from a quota and its period; a negative quota (v1's -1) is none.
fn cores(quota: f64, period: f64) -> Option<f64> {
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// A limit file's value: `max` (v2) or a page-rounded `i64::MAX` (v1) mean no limit.
fn limit_value(text: &str) -> Option<u64> {
    let value: u64 = text.trim().parse().ok()?;
    (value < 1 << 60).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    #[test]
    fn reads_v2_then_v1_and_treats_max_as_no_limit() {
        let root = std::env::temp_dir().join(format!("aml-scorer-cgroup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write(&root, "kubepods/pod1/memory.max", "2147483648\n");
        assert_eq!(memory_limit_in(&root, "0::/kubepods/pod1\n"), Some(2147483648));
        // Inside a container's namespace the group is "/": the root's own file.
        write(&root, "memory.max", "max\n");
        assert_eq!(memory_limit_in(&root, "0::/\n"), None);
        write(&root, "memory/memory.limit_in_bytes", "9223372036854771712\n");
        assert_eq!(memory_limit_in(&root, "5:memory:/\n"), None);
        write(&root, "memory/docker/abc/memory.limit_in_bytes", "536870912\n");
        assert_eq!(memory_limit_in(&root, "5:memory:/docker/abc\n"), Some(536870912));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn reads_the_cpu_quota_in_cores_from_v2_or_v1() {
        let root = std::env::temp_dir().join(format!("aml-scorer-cpu-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write(&root, "pod/cpu.max", "150000 100000\n");
        assert_eq!(cpu_quota_in(&root, "0::/pod\n"), Some(1.5));
        write(&root, "cpu.max", "max 100000\n");
        assert_eq!(cpu_quota_in(&root, "0::/\n"), None);
        write(&root, "cpu/docker/a/cpu.cfs_quota_us", "200000\n");
        write(&root, "cpu/docker/a/cpu.cfs_period_us", "100000\n");
        assert_eq!(cpu_quota_in(&root, "3:cpu,cpuacct:/docker/a\n"), Some(2.0));
        write(&root, "cpu/cpu.cfs_quota_us", "-1\n");
        write(&root, "cpu/cpu.cfs_period_us", "100000\n");
        assert_eq!(cpu_quota_in(&root, "1:cpu:/\n"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
