//! Storage for CPU kernel outputs: a [`Recycler`] keeps the parts of dead tensors — element
//! storage keyed by dtype and length, shape vectors, output lists — so that the warm runs of a
//! session build every intermediate from values that died earlier instead of from the
//! allocator.
//!
//! A device installs its recycler on the thread that runs kernels ([`with`]); kernels take
//! their output vectors through [`zeroed`], [`with_capacity`], [`dims`] and [`one`], which fall
//! back to a fresh allocation when no recycler is installed or nothing fits. Recycled contents
//! are stale: [`zeroed`] overwrites them, [`with_capacity`] returns an empty vector.

use crate::dtype::DType;
use crate::tensor::{HostElem, Tensor, TensorData};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A bounded free-list of tensor parts.
pub struct Recycler {
    pool: Mutex<Pool>,
}

#[derive(Default)]
struct Pool {
    free: HashMap<(DType, usize), Vec<TensorData>>,
    /// Empty shape vectors (capacity [`DIMS`] or more).
    dims: Vec<Vec<usize>>,
    /// Empty output lists.
    lists: Vec<Vec<Tensor>>,
    /// Bytes held in `free`.
    bytes: usize,
    /// Most bytes `free` may hold; storage given beyond it is dropped.
    cap: usize,
}

/// Capacity of a fresh shape vector: every rank up to it reuses the vector.
const DIMS: usize = 8;
/// Capacity of a fresh output list.
const OUTS: usize = 4;
/// Most spare shape vectors and output lists kept.
const SPARE: usize = 4096;

/// Free storage a new recycler may hold before it drops what it is given.
pub const DEFAULT_CAP_BYTES: usize = 256 << 20;

impl Default for Recycler {
    fn default() -> Self {
        Recycler::new(DEFAULT_CAP_BYTES)
    }
}

impl Recycler {
    /// A recycler holding at most `cap_bytes` of free element storage.
    pub fn new(cap_bytes: usize) -> Recycler {
        Recycler {
            pool: Mutex::new(Pool {
                cap: cap_bytes,
                ..Default::default()
            }),
        }
    }

    /// Raise the bound on free storage to at least `cap_bytes` (never lowers it).
    pub fn reserve_cap(&self, cap_bytes: usize) {
        if let Ok(mut p) = self.pool.lock() {
            p.cap = p.cap.max(cap_bytes);
        }
    }

    /// Bytes of free element storage held now.
    pub fn free_bytes(&self) -> usize {
        self.pool.lock().map(|p| p.bytes).unwrap_or(0)
    }

    /// Take back the parts of a dead tensor (string storage is dropped).
    pub fn give(&self, t: Tensor) {
        let (shape, data) = t.into_parts();
        self.give_dims(shape);
        self.give_data(data);
    }

    /// Take back element storage; dropped when it would exceed the bound.
    pub fn give_data(&self, d: TensorData) {
        let (dt, n) = (d.dtype(), d.len());
        if dt == DType::Str || n == 0 {
            return;
        }
        let bytes = n * dt.size();
        let Ok(mut p) = self.pool.lock() else { return };
        if p.bytes + bytes > p.cap {
            return;
        }
        p.bytes += bytes;
        p.free.entry((dt, n)).or_default().push(d);
    }

    /// Take back a shape vector.
    pub fn give_dims(&self, v: Vec<usize>) {
        self.spare(v, DIMS, |p| &mut p.dims);
    }

    /// Take back an output list (its tensors are dropped); lists of fewer than [`OUTS`] slots
    /// are dropped too, so that every list [`one`] hands out has room for more outputs.
    pub fn give_list(&self, v: Vec<Tensor>) {
        self.spare(v, OUTS, |p| &mut p.lists);
    }

    /// Keep `v`, emptied, in the spare list `list` picks, when it has room for `min`.
    fn spare<T>(&self, mut v: Vec<T>, min: usize, list: fn(&mut Pool) -> &mut Vec<Vec<T>>) {
        if v.capacity() < min {
            return;
        }
        v.clear();
        if let Ok(mut p) = self.pool.lock() {
            let l = list(&mut p);
            if l.len() < SPARE {
                l.push(v);
            }
        }
    }

    /// Free storage of `len` elements of `T`, if any (contents are stale).
    pub fn take<T: HostElem>(&self, len: usize) -> Option<Vec<T>> {
        let mut p = self.pool.lock().ok()?;
        let d = p.free.get_mut(&(T::DTYPE, len))?.pop()?;
        p.bytes -= len * T::DTYPE.size();
        T::unwrap_data(d).ok()
    }

    fn take_dims(&self) -> Option<Vec<usize>> {
        self.pool.lock().ok()?.dims.pop()
    }

    fn take_list(&self) -> Option<Vec<Tensor>> {
        self.pool.lock().ok()?.lists.pop()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Recycler>>> = const { RefCell::new(None) };
}

/// Run `f` with `r` as this thread's recycler (restoring the previous one afterwards, also
/// when `f` panics).
pub fn with<R>(r: &Arc<Recycler>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<Recycler>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CURRENT.with(|c| c.borrow_mut().replace(r.clone()));
    let _restore = Restore(prev);
    f()
}

/// Whether this thread has a recycler installed.
pub fn installed() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

fn current<R>(f: impl FnOnce(&Recycler) -> Option<R>) -> Option<R> {
    CURRENT.with(|c| c.borrow().as_deref().and_then(f))
}

/// A vector of `len` zeros, recycled where possible (drop-in for `vec![0; len]`).
pub fn zeroed<T: HostElem>(len: usize) -> Vec<T> {
    match current(|r| r.take::<T>(len)) {
        Some(mut b) => {
            b.fill(T::zero());
            b
        }
        None => vec![T::zero(); len],
    }
}

/// A vector of `len` elements for an output the kernel writes in full: recycled storage
/// keeps its old (initialised) contents instead of being zero-filled first; fresh storage is
/// zeroed. A kernel must write every element of it.
pub fn overwritten<T: HostElem>(len: usize) -> Vec<T> {
    match current(|r| r.take::<T>(len)) {
        Some(b) if b.len() == len => b,
        Some(mut b) => {
            b.clear();
            b.resize(len, T::zero());
            b
        }
        None => vec![T::zero(); len],
    }
}

/// An empty vector with room for `len` elements, recycled where possible (drop-in for
/// `Vec::with_capacity(len)`).
pub fn with_capacity<T: HostElem>(len: usize) -> Vec<T> {
    match current(|r| r.take::<T>(len)) {
        Some(mut b) => {
            b.clear();
            b
        }
        None => Vec::with_capacity(len),
    }
}

/// A stack of grow-only scratch values shared by every thread (a kernel's working buffers).
///
/// Shared rather than thread-local because a session run may execute on any worker of the
/// device's pool: thread-local scratch would be warm only on the threads earlier runs used.
pub struct Scratch<T> {
    stack: Mutex<Vec<T>>,
}

impl<T> Scratch<T> {
    /// An empty stack.
    pub const fn new() -> Scratch<T> {
        Scratch {
            stack: Mutex::new(Vec::new()),
        }
    }
}

impl<T> Default for Scratch<T> {
    fn default() -> Self {
        Scratch::new()
    }
}

/// A grow-only scratch value: its size in the unit callers of [`with_scratch`] ask for.
pub trait ScratchValue: Default {
    /// What it holds now without growing.
    fn size(&self) -> usize;
}

impl<T> ScratchValue for Vec<T> {
    fn size(&self) -> usize {
        self.capacity()
    }
}

/// Run `f` with a scratch value taken from `s` and put it back afterwards: the smallest free
/// one of at least `need`, else the largest (which `f` grows), else a fresh one. Every
/// concurrent or nested use (a rayon worker stealing another task while `f` waits) takes its
/// own value, and values only grow when none fits, so warm runs allocate no scratch.
pub fn with_scratch<T: ScratchValue, R>(s: &Scratch<T>, need: usize, f: impl FnOnce(&mut T) -> R) -> R {
    let taken = s.stack.lock().ok().and_then(|mut st| {
        let fits = (0..st.len())
            .filter(|&i| st[i].size() >= need)
            .min_by_key(|&i| st[i].size());
        let pick = fits.or_else(|| (0..st.len()).max_by_key(|&i| st[i].size()))?;
        Some(st.swap_remove(pick))
    });
    let mut v = taken.unwrap_or_default();
    let r = f(&mut v);
    if let Ok(mut st) = s.stack.lock() {
        st.push(v);
    }
    r
}

/// Give a temporary vector back to this thread's recycler (dropped when none is installed).
pub fn give<T: HostElem>(v: Vec<T>) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow().as_deref() {
            r.give_data(T::wrap(v));
        }
    });
}

/// A shape vector holding `d`, recycled where possible (drop-in for `d.to_vec()`).
pub fn dims(d: &[usize]) -> Vec<usize> {
    let mut v = current(|r| r.take_dims()).unwrap_or_else(|| Vec::with_capacity(DIMS.max(d.len())));
    v.extend_from_slice(d);
    v
}

/// A one-element output list, recycled where possible (drop-in for `vec![t]`).
pub fn one(t: Tensor) -> Vec<Tensor> {
    let mut v = current(|r| r.take_list()).unwrap_or_else(|| Vec::with_capacity(OUTS));
    v.push(t);
    v
}

/// A tensor of shape `shape` (copied into a recycled shape vector) holding `v`.
pub fn tensor<T: HostElem>(shape: &[usize], v: Vec<T>) -> crate::Result<Tensor> {
    Tensor::from_vec(dims(shape), v)
}

/// A copy of `t` in recycled storage where possible (drop-in for `t.clone()`).
pub fn clone_tensor(t: &Tensor) -> Tensor {
    Tensor::new(dims(t.shape()), clone_data(t.data())).unwrap_or_else(|_| t.clone())
}

/// A copy of `d` in recycled storage where possible (drop-in for `d.clone()`).
pub fn clone_data(d: &TensorData) -> TensorData {
    fn copy<T: HostElem>(d: &TensorData) -> Option<TensorData> {
        let src = T::view(d)?;
        let mut v = with_capacity::<T>(src.len());
        v.extend_from_slice(src);
        Some(T::wrap(v))
    }
    crate::dispatch_dtype!(d.dtype(), copy(d), str => None).unwrap_or_else(|| d.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_storage_is_reused_and_reinitialised() {
        let r = Arc::new(Recycler::new(1 << 20));
        let t = Tensor::from_vec(dims(&[4]), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let ptr = t.as_slice::<f32>().unwrap().as_ptr();
        r.give(t);
        assert_eq!(r.free_bytes(), 16);
        let v: Vec<f32> = with(&r, || zeroed(4));
        assert_eq!(v.as_ptr(), ptr, "the freed storage comes back");
        assert_eq!(v, vec![0.0; 4], "stale contents are overwritten");
        assert_eq!(r.free_bytes(), 0);
        // The shape vector comes back too.
        let d = with(&r, || dims(&[2, 3]));
        assert_eq!(d, [2, 3]);
        // Another length or dtype is a fresh allocation.
        r.give(Tensor::from_vec(vec![4], v).unwrap());
        let w: Vec<f32> = with(&r, || zeroed(5));
        assert_ne!(w.as_ptr(), ptr);
        let i: Vec<i32> = with(&r, || with_capacity(4));
        assert!(i.is_empty() && i.capacity() >= 4);
        assert_eq!(r.free_bytes(), 16);
        // Outside `with` nothing is recycled.
        assert!(!installed());
        let u: Vec<f32> = zeroed(4);
        assert_ne!(u.as_ptr(), ptr);
    }

    #[test]
    fn bound_and_strings() {
        let r = Recycler::new(8);
        r.give(Tensor::from_vec(vec![4], vec![0i64; 4]).unwrap());
        assert_eq!(r.free_bytes(), 0, "over the bound: dropped");
        r.give(Tensor::from_strings(vec![1], vec!["a".into()]).unwrap());
        r.give(Tensor::from_vec(vec![2], vec![0f32; 2]).unwrap());
        assert_eq!(r.free_bytes(), 8);
        let c = with(&Arc::new(Recycler::new(64)), || {
            clone_tensor(&Tensor::from_strings(vec![1], vec!["x".into()]).unwrap())
        });
        assert_eq!(c.as_strings().unwrap(), ["x".to_string()]);
    }
}
