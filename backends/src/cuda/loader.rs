//! Finding the CUDA libraries at run time.
//!
//! cudarc loads libcuda, libnvrtc and libcublas on first use and panics when one is missing, so
//! every entry point of the CUDA device calls [`require`] first: it checks (once per process)
//! that the libraries can be opened and turns a missing one into a reason naming the library.
//!
//! Besides the loader's own search (`LD_LIBRARY_PATH`, the system cache), libraries are looked
//! for in `SUANLI_CUDA_LIB_DIR` (a `:`-separated list), `$CUDA_HOME/lib64`, `$CUDA_PATH/lib64`
//! and `/usr/local/cuda/lib64`. A library found there is opened by its full path first; the
//! dynamic loader then answers cudarc's open by soname with that same library. This is how a
//! PyPI wheel (`nvidia-cuda-nvrtc-cu12`, `nvidia-cublas-cu12`) is used without touching
//! `LD_LIBRARY_PATH`.

use std::path::PathBuf;
use std::sync::OnceLock;

/// One library the CUDA device needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    /// The driver API (`libcuda.so.1`, installed with the NVIDIA driver).
    Driver,
    /// The run-time compiler (`libnvrtc`).
    Nvrtc,
    /// cuBLAS (`libcublas`).
    Cublas,
    /// cuBLASLt (`libcublasLt`), for GEMMs with fused epilogues.
    CublasLt,
}

impl Lib {
    /// All libraries the device needs, in the order they are checked.
    pub const ALL: [Lib; 4] = [Lib::Driver, Lib::Nvrtc, Lib::CublasLt, Lib::Cublas];

    /// The library's base name, as in `lib<name>.so`.
    pub fn name(self) -> &'static str {
        match self {
            Lib::Driver => "cuda",
            Lib::Nvrtc => "nvrtc",
            Lib::Cublas => "cublas",
            Lib::CublasLt => "cublasLt",
        }
    }

    /// Where it usually comes from, for the reason printed when it is missing.
    fn hint(self) -> &'static str {
        match self {
            Lib::Driver => "ships with the NVIDIA driver: none is installed",
            Lib::Nvrtc => "install the CUDA toolkit or `pip install nvidia-cuda-nvrtc-cu12`",
            Lib::Cublas | Lib::CublasLt => "install the CUDA toolkit or `pip install nvidia-cublas-cu12`",
        }
    }

    /// Whether cudarc's loader can open it now (it never panics).
    fn present(self) -> bool {
        // SAFETY: these functions only try `dlopen` on a list of names.
        unsafe {
            match self {
                Lib::Driver => cudarc::driver::sys::is_culib_present(),
                Lib::Nvrtc => cudarc::nvrtc::sys::is_culib_present(),
                Lib::Cublas => cudarc::cublas::sys::is_culib_present(),
                Lib::CublasLt => cudarc::cublaslt::sys::is_culib_present(),
            }
        }
    }
}

/// Extra folders searched for the libraries, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(list) = std::env::var_os("SUANLI_CUDA_LIB_DIR") {
        dirs.extend(std::env::split_paths(&list));
    }
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(root) = std::env::var_os(var) {
            dirs.push(PathBuf::from(root).join("lib64"));
        }
    }
    dirs.push(PathBuf::from("/usr/local/cuda/lib64"));
    dirs
}

/// File names a library may have in a folder: the sonames cudarc opens (CUDA 13 and 12), then
/// the development link.
fn file_names(lib: Lib) -> Vec<String> {
    let n = lib.name();
    match lib {
        Lib::Driver => vec![format!("lib{n}.so.1"), format!("lib{n}.so")],
        _ => vec![format!("lib{n}.so.13"), format!("lib{n}.so.12"), format!("lib{n}.so")],
    }
}

/// Open `lib` by full path from the search folders; true when one was opened.
fn preload(lib: Lib) -> bool {
    for dir in search_dirs() {
        for file in file_names(lib) {
            let path = dir.join(&file);
            if !path.is_file() {
                continue;
            }
            // SAFETY: opening a CUDA library runs its initialisers, which is what cudarc would
            // do itself; the handle is leaked so the library stays loaded for the process.
            if let Ok(l) = unsafe { libloading::Library::new(&path) } {
                std::mem::forget(l);
                return true;
            }
        }
    }
    false
}

/// Check `lib`, preloading it from the search folders if needed.
fn check(lib: Lib) -> Result<(), String> {
    if lib.present() || (preload(lib) && lib.present()) {
        return Ok(());
    }
    Err(format!("lib{}.so ({})", lib.name(), lib.hint()))
}

/// Check the libraries in `libs` (each checked once per process); the error names every
/// missing one.
pub fn require(libs: &[Lib]) -> Result<(), String> {
    static STATE: OnceLock<[Result<(), String>; 4]> = OnceLock::new();
    let state = STATE.get_or_init(|| Lib::ALL.map(check));
    let missing: Vec<String> = libs
        .iter()
        .filter_map(|lib| {
            let i = Lib::ALL.iter().position(|l| l == lib).unwrap_or(0);
            state[i].clone().err()
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let dirs: Vec<String> = search_dirs().iter().map(|d| d.display().to_string()).collect();
    Err(format!(
        "not found: {} (searched the loader path and {})",
        missing.join(", "),
        dirs.join(", ")
    ))
}

/// Every library the device needs.
pub fn require_all() -> Result<(), String> {
    require(&Lib::ALL)
}
