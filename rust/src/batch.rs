//! Batch helpers: run a per-item function over many inputs on rayon, keeping input order.
//!
//! The thread count comes from the caller (`num_threads=`), then `DLCOT_NUM_THREADS`, then the
//! CPU count. Pools are cached per thread count so repeated batch calls do not respawn threads.
//! After a `fork()` (as `datasets.map(num_proc=N)` does) a child must not use the parent's pool:
//! the binding detects it and asks for `serial` instead.

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Resolves the thread count: argument, then `DLCOT_NUM_THREADS`, then available parallelism.
pub fn resolve_threads(num_threads: Option<usize>) -> Result<usize> {
    if let Some(n) = num_threads {
        if n == 0 {
            return Err(Error::InvalidArgument { name: "num_threads", message: "must be at least 1".into() });
        }
        return Ok(n);
    }
    if let Ok(v) = std::env::var("DLCOT_NUM_THREADS") {
        return match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::InvalidArgument { name: "DLCOT_NUM_THREADS", message: format!("must be a positive integer, got {v:?}") }),
        };
    }
    Ok(std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = pools.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(threads)
        .or_insert_with(|| {
            Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool can be built"))
        })
        .clone()
}

/// The process that first used a pool; a forked child has another pid and runs serially,
/// since the parent's worker threads do not exist in it.
fn forked() -> bool {
    static PARENT: OnceLock<u32> = OnceLock::new();
    *PARENT.get_or_init(std::process::id) != std::process::id()
}

/// The pool to run a parallel section on, or None when the work should run serially
/// (one thread, or a forked child).
pub fn parallel_pool(threads: usize) -> Option<Arc<rayon::ThreadPool>> {
    if threads <= 1 || forked() {
        None
    } else {
        Some(pool(threads))
    }
}

/// Maps `f` over `items` with `threads` threads (serially when 1, or in a forked child),
/// results in input order.
pub fn map_ordered<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    if threads <= 1 || items.len() < 2 || forked() {
        return items.iter().map(f).collect();
    }
    pool(threads).install(|| items.par_iter().with_min_len(4).map(f).collect())
}
