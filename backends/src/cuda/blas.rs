//! Recorded [`Gemm`] steps on cuBLAS (plain and strided-batched) and cuBLASLt (bias / ReLU
//! epilogues).
//!
//! Every recorded GEMM is row-major. cuBLAS is column-major, and a row-major `C = A·B` is the
//! column-major `Cᵀ = Bᵀ·Aᵀ`: the calls below swap the operands and the m/n roles, and the
//! same buffers are read with the same leading dimensions.

use super::launch::{Epilogue, Gemm};
use crate::device::{DeviceError, Result};
use cudarc::cublas::sys as blas;
use cudarc::cublaslt::sys as lt;
use cudarc::driver::sys::CUdeviceptr;
use std::ffi::c_void;

fn err(what: &str, e: impl std::fmt::Debug) -> DeviceError {
    DeviceError::Driver(format!("{what} failed: {e:?}"))
}

/// cuBLAS's name for an element type.
fn data_type(g: &Gemm) -> Result<blas::cudaDataType> {
    use suanli_kernels::DType;
    Ok(match g.dtype {
        DType::F32 => blas::cudaDataType::CUDA_R_32F,
        DType::F16 => blas::cudaDataType::CUDA_R_16F,
        DType::BF16 => blas::cudaDataType::CUDA_R_16BF,
        DType::F64 => blas::cudaDataType::CUDA_R_64F,
        other => return Err(DeviceError::Driver(format!("cuBLAS GEMM on {other} is not supported"))),
    })
}

/// cuBLASLt's name for an element type (its own copy of the enum).
fn lt_data_type(g: &Gemm) -> Result<lt::cudaDataType> {
    use suanli_kernels::DType;
    Ok(match g.dtype {
        DType::F32 => lt::cudaDataType::CUDA_R_32F,
        DType::F16 => lt::cudaDataType::CUDA_R_16F,
        DType::BF16 => lt::cudaDataType::CUDA_R_16BF,
        DType::F64 => lt::cudaDataType::CUDA_R_64F,
        other => {
            return Err(DeviceError::Driver(format!(
                "cuBLASLt GEMM on {other} is not supported"
            )))
        }
    })
}

/// Alpha and beta as the compute type wants them (f64 for f64, else f32), as raw bytes.
fn scalars(g: &Gemm) -> ([u8; 8], [u8; 8], bool) {
    let wide = g.dtype == suanli_kernels::DType::F64;
    let enc = |v: f64| {
        let mut b = [0u8; 8];
        if wide {
            b.copy_from_slice(&v.to_ne_bytes());
        } else {
            b[..4].copy_from_slice(&(v as f32).to_ne_bytes());
        }
        b
    };
    (enc(g.alpha), enc(g.beta), wide)
}

fn int(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| DeviceError::Driver(format!("GEMM {what} = {v} exceeds cuBLAS's 32-bit range")))
}

fn op(trans: bool) -> blas::cublasOperation_t {
    if trans {
        blas::cublasOperation_t::CUBLAS_OP_T
    } else {
        blas::cublasOperation_t::CUBLAS_OP_N
    }
}

/// Enqueue `g` with plain cuBLAS. `a`, `b`, `c` are the buffers' device addresses.
///
/// # Safety
/// The addresses must be live allocations covering the extents `signature::check` verifies,
/// and `handle` must be bound to the stream the buffers are used on.
pub unsafe fn gemm(
    handle: blas::cublasHandle_t,
    g: &Gemm,
    a: CUdeviceptr,
    b: CUdeviceptr,
    c: CUdeviceptr,
) -> Result<()> {
    let ty = data_type(g)?;
    let (alpha, beta, wide) = scalars(g);
    let compute = if wide {
        blas::cublasComputeType_t::CUBLAS_COMPUTE_64F
    } else {
        blas::cublasComputeType_t::CUBLAS_COMPUTE_32F
    };
    cudarc::cublas::result::gemm_strided_batched_ex(
        handle,
        op(g.trans_b),
        op(g.trans_a),
        int(g.n, "n")?,
        int(g.m, "m")?,
        int(g.k, "k")?,
        alpha.as_ptr() as *const c_void,
        b as *const c_void,
        ty,
        int(g.ldb, "ldb")?,
        g.stride_b as i64,
        a as *const c_void,
        ty,
        int(g.lda, "lda")?,
        g.stride_a as i64,
        beta.as_ptr() as *const c_void,
        c as *mut c_void,
        ty,
        int(g.ldc, "ldc")?,
        g.stride_c as i64,
        int(g.batch, "batch")?,
        compute,
        blas::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
    )
    .map_err(|e| err("cublasGemmStridedBatchedEx", e))
}

/// A cuBLASLt handle and its workspace.
pub struct LtHandle {
    pub(crate) handle: lt::cublasLtHandle_t,
    pub(crate) workspace: CUdeviceptr,
    pub(crate) workspace_bytes: usize,
}

// SAFETY: the handle is used by one lane (stream) at a time, behind the lane's mutex.
unsafe impl Send for LtHandle {}

/// Destroys cuBLASLt objects on every path out of [`gemm_lt`].
struct Guard(Vec<Box<dyn FnOnce()>>);

impl Drop for Guard {
    fn drop(&mut self) {
        for f in self.0.drain(..) {
            f();
        }
    }
}

/// Enqueue `g` with cuBLASLt and its epilogue (bias and/or ReLU).
///
/// # Safety
/// As [`gemm`]; `bias` must cover `g.n` elements when the epilogue uses it.
pub unsafe fn gemm_lt(
    h: &LtHandle,
    stream: cudarc::driver::sys::CUstream,
    g: &Gemm,
    a: CUdeviceptr,
    b: CUdeviceptr,
    c: CUdeviceptr,
    bias: Option<CUdeviceptr>,
) -> Result<()> {
    use cudarc::cublaslt::result as r;
    let ty = lt_data_type(g)?;
    let (alpha, beta, wide) = scalars(g);
    let (compute, scale) = if wide {
        (
            lt::cublasComputeType_t::CUBLAS_COMPUTE_64F,
            lt::cudaDataType::CUDA_R_64F,
        )
    } else {
        (
            lt::cublasComputeType_t::CUBLAS_COMPUTE_32F,
            lt::cudaDataType::CUDA_R_32F,
        )
    };
    let mut guard = Guard(Vec::new());
    let desc = r::create_matmul_desc(compute, scale).map_err(|e| err("cublasLtMatmulDescCreate", e))?;
    guard.0.push(Box::new(move || {
        let _ = r::destroy_matmul_desc(desc);
    }));
    let set = |attr: lt::cublasLtMatmulDescAttributes_t, v: *const c_void, n: usize| {
        r::set_matmul_desc_attribute(desc, attr, v, n).map_err(|e| err("cublasLtMatmulDescSetAttribute", e))
    };
    // Column-major view: the first operand is B, the second A (see the module comment).
    let (ta, tb) = (op(g.trans_b) as i32, op(g.trans_a) as i32);
    set(
        lt::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_TRANSA,
        &ta as *const i32 as *const c_void,
        4,
    )?;
    set(
        lt::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_TRANSB,
        &tb as *const i32 as *const c_void,
        4,
    )?;
    let epi = match g.epilogue {
        Epilogue::None => lt::cublasLtEpilogue_t::CUBLASLT_EPILOGUE_DEFAULT,
        Epilogue::Relu => lt::cublasLtEpilogue_t::CUBLASLT_EPILOGUE_RELU,
        Epilogue::Bias => lt::cublasLtEpilogue_t::CUBLASLT_EPILOGUE_BIAS,
        Epilogue::BiasRelu => lt::cublasLtEpilogue_t::CUBLASLT_EPILOGUE_RELU_BIAS,
    };
    set(
        lt::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_EPILOGUE,
        &epi as *const lt::cublasLtEpilogue_t as *const c_void,
        std::mem::size_of::<lt::cublasLtEpilogue_t>(),
    )?;
    if let Some(p) = bias {
        set(
            lt::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_BIAS_POINTER,
            &p as *const CUdeviceptr as *const c_void,
            std::mem::size_of::<CUdeviceptr>(),
        )?;
    }
    // Stored (column-major) shapes: B is n×k (k×n when transposed), A is k×m (m×k), C is n×m.
    let (brows, bcols) = if g.trans_b { (g.k, g.n) } else { (g.n, g.k) };
    let (arows, acols) = if g.trans_a { (g.m, g.k) } else { (g.k, g.m) };
    let mut layout = |rows: usize, cols: usize, ld: usize, stride: usize| -> Result<lt::cublasLtMatrixLayout_t> {
        let l = r::create_matrix_layout(ty, rows as u64, cols as u64, ld as i64)
            .map_err(|e| err("cublasLtMatrixLayoutCreate", e))?;
        guard.0.push(Box::new(move || {
            let _ = r::destroy_matrix_layout(l);
        }));
        if g.batch > 1 {
            let count = int(g.batch, "batch")?;
            let stride = stride as i64;
            r::set_matrix_layout_attribute(
                l,
                lt::cublasLtMatrixLayoutAttribute_t::CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                &count as *const i32 as *const c_void,
                4,
            )
            .map_err(|e| err("cublasLtMatrixLayoutSetAttribute", e))?;
            r::set_matrix_layout_attribute(
                l,
                lt::cublasLtMatrixLayoutAttribute_t::CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                &stride as *const i64 as *const c_void,
                8,
            )
            .map_err(|e| err("cublasLtMatrixLayoutSetAttribute", e))?;
        }
        Ok(l)
    };
    let la = layout(brows, bcols, g.ldb, g.stride_b)?;
    let lb = layout(arows, acols, g.lda, g.stride_a)?;
    let lc = layout(g.n, g.m, g.ldc, g.stride_c)?;
    let pref = r::create_matmul_pref().map_err(|e| err("cublasLtMatmulPreferenceCreate", e))?;
    guard.0.push(Box::new(move || {
        let _ = r::destroy_matmul_pref(pref);
    }));
    let ws = h.workspace_bytes;
    r::set_matmul_pref_attribute(
        pref,
        lt::cublasLtMatmulPreferenceAttributes_t::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
        &ws as *const usize as *const c_void,
        std::mem::size_of::<usize>(),
    )
    .map_err(|e| err("cublasLtMatmulPreferenceSetAttribute", e))?;
    let heur = r::get_matmul_algo_heuristic(h.handle, desc, la, lb, lc, lc, pref)
        .map_err(|e| err("cublasLtMatmulAlgoGetHeuristic", e))?;
    r::matmul(
        h.handle,
        desc,
        alpha.as_ptr() as *const c_void,
        beta.as_ptr() as *const c_void,
        b as *const c_void,
        la,
        a as *const c_void,
        lb,
        c as *const c_void,
        lc,
        c as *mut c_void,
        lc,
        &heur.algo,
        h.workspace as *mut c_void,
        ws,
        stream as lt::cudaStream_t,
    )
    .map_err(|e| err("cublasLtMatmul", e))
}
