//! tract's plan choices that this server sets for every model, in tract's configuration layer: a
//! `TRACT_*` variable in the environment still wins over them (tract documents its knobs).

use std::sync::Once;

use tract_onnx::tract_core::knobs;

/// The kernel-size rule of tract's choice between gathering a convolution's patches once
/// (eager im2col) and once per panel of the matrix product (lazy), turned off: tract goes lazy for
/// every kernel of 6 taps or more (a default measured on Apple AMX), and on x86-64 the eager copy
/// measured faster wherever the two differ (ResNet-50 129 -> 115 ms for one image on tract alone,
/// the eight other CNNs of the onnx test zoo unchanged within noise: BENCHMARKS.md). tract's other
/// rules still apply: a concrete one-item convolution whose patch matrix would exceed the bound
/// below, or that fits one panel, stays lazy. (tract has no lazy path for a symbolic or larger batch.)
const LAZY_IM2COL_MIN_KERNEL: usize = usize::MAX;

/// Where tract's other rule draws the line (`TRACT_LAZY_IM2COL_MAX_EAGER_BYTES`): a one-item
/// convolution whose patch matrix is larger is gathered lazily. tract's 4 MiB was measured on Apple
/// Silicon; on x86-64 the eager copy wins only while the matrix stays in the core's own L2 cache,
/// which the matrix product then reads from (2 MiB on the development machine: ResNet-50 94 -> 91
/// ms, DenseNet-121 97 -> 89-92 ms for one image on tract alone, Inception v1, VGG-19 and SqueezeNet
/// within noise). So the bound is the L2 size Linux reports, kept within these limits (a VM can
/// report any size); where it cannot be read, tract's default stands.
const EAGER_IM2COL_BYTES: std::ops::RangeInclusive<usize> = (256 << 10)..=(4 << 20);

/// Where Linux describes the first CPU's caches, one `index*` directory per cache.
const CACHE_SYSFS: &str = "/sys/devices/system/cpu/cpu0/cache";

/// Sets them once per process, before the first model is optimised.
pub(super) fn apply() {
    static APPLIED: Once = Once::new();
    APPLIED.call_once(|| {
        if cfg!(target_arch = "x86_64") {
            set("TRACT_LAZY_IM2COL_MIN_KERNEL", LAZY_IM2COL_MIN_KERNEL);
            if let Some(bytes) = eager_im2col_bytes() {
                tracing::debug!("convolutions gather patches eagerly up to {bytes} bytes");
                set("TRACT_LAZY_IM2COL_MAX_EAGER_BYTES", bytes);
            }
        }
    });
}

fn set(knob: &str, value: usize) {
    if let Err(cause) = knobs::set_config_global(knob, &value.to_string()) {
        tracing::warn!("tract's convolution setting {knob} was not applied: {cause:#}");
    }
}

fn eager_im2col_bytes() -> Option<usize> {
    let l2 = l2_cache_bytes(std::path::Path::new(CACHE_SYSFS))?;
    Some(l2.clamp(*EAGER_IM2COL_BYTES.start(), *EAGER_IM2COL_BYTES.end()))
}

/// The size of the first CPU's level-2 data cache, from Linux's `index*/{level,type,size}` files.
fn l2_cache_bytes(cache_dir: &std::path::Path) -> Option<usize> {
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).ok();
    std::fs::read_dir(cache_dir).ok()?.flatten().find_map(|entry| {
        let dir = entry.path();
        let level = read(dir.join("level"))?;
        let kind = read(dir.join("type"))?;
        (level.trim() == "2" && matches!(kind.trim(), "Unified" | "Data"))
            .then(|| cache_size_bytes(&read(dir.join("size"))?))
            .flatten()
    })
}

/// `2048K`, `1M` or a plain byte count, as Linux writes a cache's size.
fn cache_size_bytes(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = match text.strip_suffix(['K', 'k']) {
        Some(digits) => (digits, 1 << 10),
        None => match text.strip_suffix(['M', 'm']) {
            Some(digits) => (digits, 1 << 20),
            None => (text, 1),
        },
    };
    digits
        .parse::<usize>()
        .ok()?
        .checked_mul(unit)
        .filter(|&bytes| bytes > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value tract sees for `knob` once the settings are applied.
    fn knob_after_apply(knob: &str) -> Option<String> {
        apply();
        knobs::all()
            .into_iter()
            .find(|k| k.name == knob)
            .map(|k| (k.current)())
    }

    #[test]
    fn the_setting_reaches_tract_and_parses_as_its_type() {
        let value = knob_after_apply("TRACT_LAZY_IM2COL_MIN_KERNEL");
        if cfg!(target_arch = "x86_64") && std::env::var_os("TRACT_LAZY_IM2COL_MIN_KERNEL").is_none() {
            assert_eq!(value, Some(LAZY_IM2COL_MIN_KERNEL.to_string()));
        }
    }

    #[test]
    fn the_eager_bound_is_this_machines_l2_cache() {
        let value = knob_after_apply("TRACT_LAZY_IM2COL_MAX_EAGER_BYTES");
        if cfg!(all(target_arch = "x86_64", target_os = "linux"))
            && std::env::var_os("TRACT_LAZY_IM2COL_MAX_EAGER_BYTES").is_none()
        {
            let l2 = l2_cache_bytes(std::path::Path::new(CACHE_SYSFS))
                .expect("Linux describes the L2 cache of an x86-64 machine");
            let bound = l2.clamp(*EAGER_IM2COL_BYTES.start(), *EAGER_IM2COL_BYTES.end());
            assert_eq!(value, Some(bound.to_string()));
        }
    }

    #[test]
    fn the_l2_cache_is_found_among_the_levels_linux_lists() {
        let dir = tempfile::tempdir().unwrap();
        for (index, level, kind, size) in [
            (0, "1", "Data", "48K"),
            (1, "1", "Instruction", "32K"),
            (2, "2", "Unified", "2048K\n"),
            (3, "3", "Unified", "266240K"),
        ] {
            let index = dir.path().join(format!("index{index}"));
            std::fs::create_dir(&index).unwrap();
            std::fs::write(index.join("level"), format!("{level}\n")).unwrap();
            std::fs::write(index.join("type"), format!("{kind}\n")).unwrap();
            std::fs::write(index.join("size"), size).unwrap();
        }
        assert_eq!(l2_cache_bytes(dir.path()), Some(2 << 20));
        assert_eq!(l2_cache_bytes(&dir.path().join("missing")), None);
    }

    #[test]
    fn cache_sizes_read_as_linux_writes_them() {
        assert_eq!(cache_size_bytes("2048K\n"), Some(2 << 20));
        assert_eq!(cache_size_bytes("1M"), Some(1 << 20));
        assert_eq!(cache_size_bytes("512"), Some(512));
        for nonsense in [
            "",
            "K",
            "0K",
            "-1K",
            "2G",
            "99999999999999999999M",
            "18446744073709551615K",
        ] {
            assert_eq!(cache_size_bytes(nonsense), None, "{nonsense:?}");
        }
    }
}
