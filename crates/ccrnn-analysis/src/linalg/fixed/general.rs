//! Eigenvalues (and eigenvectors) of general square matrices in a fixed order of operations:
//! balancing, elimination to Hessenberg form and the Francis double-shift QR iteration (the
//! EISPACK `balanc`, `elmhes`, `hqr` sequence).

// The EISPACK routines index rows and columns together, 1-based, as the published algorithms do.
#![allow(clippy::needless_range_loop)]

use super::check_finite;
use crate::{Error, Result};
use ndarray::ArrayView2;
use num_complex::Complex64;

/// All eigenvalues of a general square matrix, in no particular order: balancing, reduction
/// to upper Hessenberg form by stabilised elimination, then the Francis double-shift QR
/// iteration (eigenvalues only).
pub fn eigenvalues(a: ArrayView2<f64>, what: &str) -> Result<Vec<Complex64>> {
    check_finite(a, what)?;
    let n = a.nrows();
    // 1-based, as in the EISPACK routines these follow (row/column 0 unused).
    let mut h = vec![vec![0.0f64; n + 1]; n + 1];
    for i in 0..n {
        for j in 0..n {
            h[i + 1][j + 1] = a[(i, j)];
        }
    }
    balance(&mut h, n);
    to_hessenberg(&mut h, n);
    hessenberg_qr(&mut h, n).ok_or_else(|| Error::linalg(what, "the QR iteration did not converge"))
}

/// Scales rows and columns by powers of 2 (exact) until their norms are comparable, which makes
/// the eigenvalues better conditioned without changing them.
fn balance(a: &mut [Vec<f64>], n: usize) {
    const RADIX: f64 = 2.0;
    let sqrdx = RADIX * RADIX;
    let mut done = false;
    while !done {
        done = true;
        for i in 1..=n {
            let (mut c, mut r) = (0.0f64, 0.0f64);
            for j in 1..=n {
                if j != i {
                    c += a[j][i].abs();
                    r += a[i][j].abs();
                }
            }
            if c != 0.0 && r != 0.0 {
                let s = c + r;
                let mut f = 1.0;
                let g = r / RADIX;
                while c < g {
                    f *= RADIX;
                    c *= sqrdx;
                }
                let g = r * RADIX;
                while c > g {
                    f /= RADIX;
                    c /= sqrdx;
                }
                if (c + r) / f < 0.95 * s {
                    done = false;
                    let g = 1.0 / f;
                    a[i][1..=n].iter_mut().for_each(|x| *x *= g);
                    (1..=n).for_each(|j| a[j][i] *= f);
                }
            }
        }
    }
}

/// Reduces `a` to upper Hessenberg form by elimination with pivoting (a similarity transform),
/// zeroing what lies below the subdiagonal.
fn to_hessenberg(a: &mut [Vec<f64>], n: usize) {
    for m in 2..n {
        let (mut x, mut i) = (0.0f64, m);
        for j in m..=n {
            if a[j][m - 1].abs() > x.abs() {
                x = a[j][m - 1];
                i = j;
            }
        }
        if i != m {
            a.swap(i, m);
            for row in a.iter_mut() {
                row.swap(i, m);
            }
        }
        if x != 0.0 {
            for i in m + 1..=n {
                let mut y = a[i][m - 1];
                if y != 0.0 {
                    y /= x;
                    a[i][m - 1] = y;
                    for j in m..=n {
                        a[i][j] -= y * a[m][j];
                    }
                    for row in a.iter_mut().skip(1) {
                        row[m] += y * row[i];
                    }
                }
            }
        }
    }
    for i in 3..=n {
        a[i][1..i - 1].iter_mut().for_each(|x| *x = 0.0);
    }
}

/// Eigenvalues of the upper Hessenberg `a` (1-based) by the Francis double-shift QR iteration
/// with deflation and exceptional shifts; `None` if some eigenvalue takes over 60 iterations.
#[allow(clippy::many_single_char_names)]
fn hessenberg_qr(a: &mut [Vec<f64>], n: usize) -> Option<Vec<Complex64>> {
    let sign = |x: f64, y: f64| if y >= 0.0 { x.abs() } else { -x.abs() };
    let mut wr = vec![0.0f64; n + 1];
    let mut wi = vec![0.0f64; n + 1];
    let mut anorm = 0.0f64;
    for i in 1..=n {
        for j in (i.max(2) - 1)..=n {
            anorm += a[i][j].abs();
        }
    }
    let mut nn = n as isize;
    let mut t = 0.0f64;
    let at = |i: isize| i as usize;
    while nn >= 1 {
        let mut its = 0;
        loop {
            let mut l = nn;
            while l >= 2 {
                let mut s = a[at(l - 1)][at(l - 1)].abs() + a[at(l)][at(l)].abs();
                if s == 0.0 {
                    s = anorm;
                }
                if a[at(l)][at(l - 1)].abs() + s == s {
                    a[at(l)][at(l - 1)] = 0.0;
                    break;
                }
                l -= 1;
            }
            let mut x = a[at(nn)][at(nn)];
            if l == nn {
                wr[at(nn)] = x + t;
                wi[at(nn)] = 0.0;
                nn -= 1;
            } else {
                let mut y = a[at(nn - 1)][at(nn - 1)];
                let mut w = a[at(nn)][at(nn - 1)] * a[at(nn - 1)][at(nn)];
                if l == nn - 1 {
                    let p = 0.5 * (y - x);
                    let q = p * p + w;
                    let mut z = q.abs().sqrt();
                    x += t;
                    if q >= 0.0 {
                        z = p + sign(z, p);
                        wr[at(nn - 1)] = x + z;
                        wr[at(nn)] = if z != 0.0 { x - w / z } else { x + z };
                        wi[at(nn - 1)] = 0.0;
                        wi[at(nn)] = 0.0;
                    } else {
                        wr[at(nn - 1)] = x + p;
                        wr[at(nn)] = x + p;
                        wi[at(nn - 1)] = -z;
                        wi[at(nn)] = z;
                    }
                    nn -= 2;
                } else {
                    if its == 60 {
                        return None;
                    }
                    if its == 10 || its == 20 || its == 40 {
                        t += x;
                        for i in 1..=at(nn) {
                            a[i][i] -= x;
                        }
                        let s = a[at(nn)][at(nn - 1)].abs() + a[at(nn - 1)][at(nn - 2)].abs();
                        x = 0.75 * s;
                        y = x;
                        w = -0.4375 * s * s;
                    }
                    its += 1;
                    let (mut p, mut q, mut r);
                    let mut m = nn - 2;
                    loop {
                        let z = a[at(m)][at(m)];
                        let rr = x - z;
                        let s = y - z;
                        p = (rr * s - w) / a[at(m + 1)][at(m)] + a[at(m)][at(m + 1)];
                        q = a[at(m + 1)][at(m + 1)] - z - rr - s;
                        r = a[at(m + 2)][at(m + 1)];
                        let s = p.abs() + q.abs() + r.abs();
                        p /= s;
                        q /= s;
                        r /= s;
                        if m == l {
                            break;
                        }
                        let u = a[at(m)][at(m - 1)].abs() * (q.abs() + r.abs());
                        let v = p.abs() * (a[at(m - 1)][at(m - 1)].abs() + z.abs() + a[at(m + 1)][at(m + 1)].abs());
                        if u + v == v {
                            break;
                        }
                        m -= 1;
                    }
                    for i in at(m + 2)..=at(nn) {
                        a[i][i - 2] = 0.0;
                        if i != at(m + 2) {
                            a[i][i - 3] = 0.0;
                        }
                    }
                    let mut k = m;
                    while k < nn {
                        if k != m {
                            p = a[at(k)][at(k - 1)];
                            q = a[at(k + 1)][at(k - 1)];
                            r = if k != nn - 1 { a[at(k + 2)][at(k - 1)] } else { 0.0 };
                            x = p.abs() + q.abs() + r.abs();
                            if x != 0.0 {
                                p /= x;
                                q /= x;
                                r /= x;
                            }
                        }
                        let s = sign((p * p + q * q + r * r).sqrt(), p);
                        if s != 0.0 {
                            if k == m {
                                if l != m {
                                    a[at(k)][at(k - 1)] = -a[at(k)][at(k - 1)];
                                }
                            } else {
                                a[at(k)][at(k - 1)] = -s * x;
                            }
                            p += s;
                            x = p / s;
                            y = q / s;
                            let z = r / s;
                            q /= p;
                            r /= p;
                            for j in at(k)..=at(nn) {
                                let mut pp = a[at(k)][j] + q * a[at(k + 1)][j];
                                if k != nn - 1 {
                                    pp += r * a[at(k + 2)][j];
                                    a[at(k + 2)][j] -= pp * z;
                                }
                                a[at(k + 1)][j] -= pp * y;
                                a[at(k)][j] -= pp * x;
                            }
                            let mmin = if nn < k + 3 { nn } else { k + 3 };
                            for i in at(l)..=at(mmin) {
                                let mut pp = x * a[i][at(k)] + y * a[i][at(k + 1)];
                                if k != nn - 1 {
                                    pp += z * a[i][at(k + 2)];
                                    a[i][at(k + 2)] -= pp * r;
                                }
                                a[i][at(k + 1)] -= pp * q;
                                a[i][at(k)] -= pp;
                            }
                        }
                        k += 1;
                    }
                }
            }
            if l >= nn - 1 {
                break;
            }
        }
    }
    Some((1..=n).map(|i| Complex64::new(wr[i], wi[i])).collect())
}

/// An eigenvector of the small matrix `h` (`m × m`) for its eigenvalue `lambda`, by inverse
/// iteration in complex arithmetic (LU with partial pivoting of `h − λ I`, a zero pivot
/// replaced by `1e-14 ‖h‖`): unit norm.
pub fn eigenvector(h: ArrayView2<f64>, lambda: Complex64) -> Vec<Complex64> {
    let m = h.nrows();
    let scale = h.iter().map(|x| x.abs()).fold(0.0, f64::max).max(1e-300);
    let mut a: Vec<Vec<Complex64>> = (0..m)
        .map(|i| {
            (0..m)
                .map(|j| Complex64::new(h[(i, j)], 0.0) - if i == j { lambda } else { 0.0.into() })
                .collect()
        })
        .collect();
    let mut perm: Vec<usize> = (0..m).collect();
    for col in 0..m {
        let piv = (col..m)
            .max_by(|&i, &j| a[i][col].norm().total_cmp(&a[j][col].norm()).then(j.cmp(&i)))
            .expect("col < m");
        a.swap(col, piv);
        perm.swap(col, piv);
        if a[col][col].norm() < 1e-14 * scale {
            a[col][col] = Complex64::new(1e-14 * scale, 0.0);
        }
        for i in col + 1..m {
            let f = a[i][col] / a[col][col];
            a[i][col] = f;
            for j in col + 1..m {
                let d = f * a[col][j];
                a[i][j] -= d;
            }
        }
    }
    let mut y = vec![Complex64::new(1.0, 0.0); m];
    for _ in 0..3 {
        // forward (unit lower, permuted right-hand side), then backward substitution
        let mut z: Vec<Complex64> = perm.iter().map(|&p| y[p]).collect();
        for i in 0..m {
            for j in 0..i {
                let d = a[i][j] * z[j];
                z[i] -= d;
            }
        }
        for i in (0..m).rev() {
            for j in i + 1..m {
                let d = a[i][j] * z[j];
                z[i] -= d;
            }
            z[i] /= a[i][i];
        }
        let norm = z.iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
        y = z.into_iter().map(|c| c / norm).collect();
    }
    y
}
