//! Time of one sparse product `W · X` (CSR coupling, f32) against its arithmetic: N neurons,
//! `--per-row` synapses onto each from presynaptic neurons drawn from the first `--span`
//! neurons, `--rows` rows of activity (trials).
//!
//!     cargo run --release -p ccrnn-lab --example bench_spmm -- [--n 3000] [--per-row 150] \
//!         [--span 3000] [--rows 8] [--reps 200]
//!
//!     cargo run --release -p ccrnn-lab --example bench_spmm -- --flyvis 15 [--rows 4]
//!
//! `--flyvis EXTENT`: the flyvis lattice instead, in its own neuron order and in reverse
//! Cuthill–McKee order (what reordering the neurons would gain).
//!
//! Prints one JSON line per order: median seconds per product, nanoseconds per synapse.

use ccrnn_core::{Backend, Connectivity, Pattern};
use ccrnn_io::connectome::{Lattice, LoadOptions, Source, load_connectome};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::time::Instant;

fn main() {
    let (mut n, mut per_row, mut span, mut rows, mut reps) = (3000usize, 150usize, 3000usize, 8usize, 200usize);
    let mut flyvis = 0usize;
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v: usize = it
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{f} needs an integer"));
        match f.as_str() {
            "--n" => n = v,
            "--per-row" => per_row = v,
            "--span" => span = v,
            "--rows" => rows = v,
            "--reps" => reps = v,
            "--flyvis" => flyvis = v,
            _ => panic!("unknown flag {f}"),
        }
    }
    if flyvis > 0 {
        let opts = LoadOptions {
            lattice: Lattice {
                extent: flyvis as u32,
                ..Lattice::default()
            },
            ..LoadOptions::default()
        };
        let (con, _) = load_connectome(&Source::Builtin("flyvis".into()), &opts).expect("flyvis");
        let conn = con.connectivity::<f32>(1e-3).expect("connectivity");
        let n = conn.pattern.n();
        let perm = rcm(&conn.pattern);
        let (pp, src) = conn.pattern.permuted(&perm);
        let permuted = Connectivity {
            pattern: pp,
            values: src.iter().map(|&k| conn.values[k]).collect(),
            signs: vec![0; n],
        };
        for (name, c) in [("own", conn), ("rcm", permuted)] {
            let med = time_forward(&c, rows, reps);
            // a closed pipe (`| head -1`) ends the output quietly
            let _ = writeln!(
                std::io::stdout(),
                "{{\"flyvis\": {flyvis}, \"order\": \"{name}\", \"n\": {n}, \"nnz\": {}, \"rows\": {rows}, \"threads\": {}, \"product_s\": {med:.3e}, \"ns_per_synapse\": {:.3}}}",
                c.pattern.nnz(),
                rayon::current_num_threads(),
                med * 1e9 / c.pattern.nnz() as f64
            );
        }
        return;
    }
    let span = span.min(n);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (mut row_ptr, mut col) = (vec![0usize], Vec::new());
    for _ in 0..n {
        let mut js: Vec<u32> = (0..per_row.min(span))
            .map(|_| rng.random_range(0..span as u32))
            .collect();
        js.sort_unstable();
        js.dedup();
        col.extend(js);
        row_ptr.push(col.len());
    }
    let pattern = Pattern::new(n, row_ptr, col).expect("pattern");
    let nnz = pattern.nnz();
    let values: Vec<f32> = (0..nnz).map(|_| rng.random_range(0.0..0.01)).collect();
    let conn = Connectivity {
        pattern,
        values,
        signs: vec![0; n],
    };
    let med = time_forward(&conn, rows, reps);
    println!(
        "{{\"n\": {n}, \"nnz\": {nnz}, \"span\": {span}, \"rows\": {rows}, \"threads\": {}, \"product_s\": {med:.3e}, \"ns_per_synapse\": {:.3}, \"gflops\": {:.2}}}",
        rayon::current_num_threads(),
        med * 1e9 / nnz as f64,
        2.0 * nnz as f64 * rows as f64 / med / 1e9
    );
}

/// Median seconds of `W · X` for `rows` rows of random activity.
fn time_forward(conn: &Connectivity<f32>, rows: usize, reps: usize) -> f64 {
    let n = conn.pattern.n();
    let c = conn.build(Backend::Csr);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = Array2::from_shape_fn((rows, n), |_| rng.random_range(0.0f32..1.0));
    let mut out = Array2::<f32>::zeros((rows, n));
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        c.forward(x.view(), out.view_mut());
        t.push(t0.elapsed().as_secs_f64());
        std::hint::black_box(&out);
    }
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Reverse Cuthill–McKee order of the symmetrised pattern: `perm[old] = new`.
fn rcm(p: &Pattern) -> Vec<usize> {
    let n = p.n();
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, &j) in p.rows().iter().zip(p.col()) {
        adj[*i as usize].push(j);
        adj[j as usize].push(*i);
    }
    for a in &mut adj {
        a.sort_unstable();
        a.dedup();
    }
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut by_degree: Vec<usize> = (0..n).collect();
    by_degree.sort_by_key(|&i| adj[i].len());
    for &start in &by_degree {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut q = std::collections::VecDeque::from([start]);
        while let Some(v) = q.pop_front() {
            order.push(v);
            let mut next: Vec<usize> = adj[v].iter().map(|&u| u as usize).filter(|&u| !seen[u]).collect();
            next.sort_by_key(|&u| adj[u].len());
            for u in next {
                seen[u] = true;
                q.push_back(u);
            }
        }
    }
    let mut perm = vec![0; n];
    for (new, &old) in order.iter().rev().enumerate() {
        perm[old] = new;
    }
    perm
}
