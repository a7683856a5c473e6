//! NVRTC compilation with a PTX cache: in memory per device, and on disk under the user's
//! cache folder (`$SUANLI_CACHE_DIR`, else `$XDG_CACHE_HOME/suanli`, else `~/.cache/suanli`),
//! keyed by a hash of the source, the architecture and the NVRTC version.

use super::loader::{require, Lib};
use super::ops::CudaSource;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

/// Options every source is compiled with.
const OPTIONS: [&str; 2] = ["--std=c++17", "--fmad=true"];

/// The NVRTC version, e.g. (12, 9).
pub fn nvrtc_version() -> Result<(i32, i32), String> {
    require(&[Lib::Nvrtc])?;
    let mut major = 0;
    let mut minor = 0;
    // SAFETY: the library is present (checked above); the pointers are valid for writes.
    let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    if r != cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
        return Err(format!("nvrtcVersion failed: {r:?}"));
    }
    Ok((major, minor))
}

/// Compile `src` for `arch` (e.g. `compute_90`) to PTX text, or the compiler's log.
pub fn compile_ptx(src: &CudaSource, arch: &str) -> Result<String, String> {
    require(&[Lib::Nvrtc])?;
    if src.source.contains('\0') || src.name.contains('\0') {
        return Err(format!("{}: source contains a NUL byte", src.name));
    }
    let mut options: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
    options.push(format!("--gpu-architecture={arch}"));
    let opts = cudarc::nvrtc::CompileOptions {
        options,
        name: Some(format!("{}.cu", src.name)),
        ..Default::default()
    };
    match cudarc::nvrtc::compile_ptx_with_opts(&src.source, opts) {
        Ok(ptx) => Ok(ptx.to_src()),
        Err(cudarc::nvrtc::CompileError::CompileError { log, .. }) => {
            Err(format!("{} ({arch}): {}", src.name, log.to_string_lossy().trim()))
        }
        Err(e) => Err(format!("{} ({arch}): {e:?}", src.name)),
    }
}

/// The folder compiled PTX is kept in, when one can be found.
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("SUANLI_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("suanli")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("suanli")))?;
    Some(base.join("cuda"))
}

/// A stable key for `src` compiled for `arch` by this NVRTC.
pub fn cache_key(src: &CudaSource, arch: &str, nvrtc: (i32, i32)) -> String {
    let mut h = DefaultHasher::new();
    src.source.hash(&mut h);
    src.entry.hash(&mut h);
    arch.hash(&mut h);
    nvrtc.hash(&mut h);
    OPTIONS.hash(&mut h);
    format!("{}-{:016x}", sanitize(&src.name), h.finish())
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .take(48)
        .collect()
}

/// PTX for `src`: from the disk cache when present, else compiled and stored (a cache that
/// cannot be written is skipped, not an error).
pub fn cached_ptx(src: &CudaSource, arch: &str) -> Result<String, String> {
    let version = nvrtc_version()?;
    let path = cache_dir().map(|d| d.join(format!("{}.ptx", cache_key(src, arch, version))));
    if let Some(p) = &path {
        if let Ok(text) = std::fs::read_to_string(p) {
            if text.contains(&src.entry) {
                return Ok(text);
            }
        }
    }
    let ptx = compile_ptx(src, arch)?;
    if let Some(p) = &path {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Write then rename, so a concurrent reader never sees half a file.
        let tmp = p.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &ptx).is_ok() {
            let _ = std::fs::rename(&tmp, p);
        }
    }
    Ok(ptx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_source_arch_and_compiler() {
        let a = CudaSource {
            name: "add f32".into(),
            source: "extern \"C\" __global__ void k() {}".into(),
            entry: "k".into(),
        };
        let mut b = a.clone();
        b.source.push(' ');
        let k = cache_key(&a, "compute_90", (12, 9));
        assert!(k.starts_with("add_f32-"));
        assert_ne!(k, cache_key(&b, "compute_90", (12, 9)));
        assert_ne!(k, cache_key(&a, "compute_80", (12, 9)));
        assert_ne!(k, cache_key(&a, "compute_90", (13, 0)));
        assert_eq!(k, cache_key(&a.clone(), "compute_90", (12, 9)));
    }
}
