//! Recordings and simulated trajectories as `.npz` (or a lone `.npy` of activity).
//!
//! | array | shape | meaning |
//! |---|---|---|
//! | `activity` | B × T × M, float | activity `a` of the recorded neurons |
//! | `recorded` | M, integer | which neurons (rows of the model) the columns of `activity` are |
//! | `inputs` | B × T × n_in, float (optional) | stimulus `u`; missing = no input |
//! | `initial_state` | B × N, float (optional) | per-trial `h_0`; missing = the model's `h0` |
//! | `readout` | B × T × n_out or B × T, float (optional) | readout `y` |
//!
//! B trials, T time steps, M recorded neurons. Files in the `time × trials × neurons` order are
//! read with [`Layout::TimeMajor`]. A `.npy` file is taken as `activity`. Trajectory files
//! written by [`save_trajectory`] hold every neuron (`recorded` = 0..N) plus `h` and `dt`, so
//! they are recordings too.

use crate::npz::{NpzIn, write_npz};
use crate::{Error, Result};
use ccrnn_core::{Stimulus, Trajectory};
use ndarray::{Array1, Array2, Array3, Ix2, Ix3};
use std::path::Path;

/// Axis order of the 3-d arrays in a recording file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `trials × time × neurons` (NumPy shape `(B, T, N)`): ccrnn's own and the paper's.
    #[default]
    TrialsMajor,
    /// `time × trials × neurons` (NumPy shape `(T, B, N)`).
    TimeMajor,
}

/// What a recording holds, in ccrnn's `B × T × ·` order.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    /// Activity of the recorded neurons, `B × T × M`.
    pub activity: Option<Array3<f32>>,
    /// Recorded neurons (length M), if the file says.
    pub recorded: Option<Vec<usize>>,
    /// Inputs, `B × T × n_in`.
    pub inputs: Option<Array3<f32>>,
    /// Per-trial initial states, `B × N`.
    pub initial_state: Option<Array2<f32>>,
    /// Readout, `B × T × n_out`.
    pub readout: Option<Array3<f32>>,
}

impl Recording {
    /// Trials and time steps `(B, T)` of the first 3-d array held.
    pub fn trials_steps(&self) -> Option<(usize, usize)> {
        [&self.activity, &self.inputs, &self.readout]
            .into_iter()
            .flatten()
            .next()
            .map(|a| (a.shape()[0], a.shape()[1]))
    }

    /// The stimulus of the recording for a model with `n_in` inputs (zeros when the file has
    /// no `inputs` and the model none either).
    pub fn stimulus(&self, path: &Path, n_in: usize) -> Result<Stimulus<f32>> {
        let (b, t) = self
            .trials_steps()
            .ok_or_else(|| Error::format(path, "holds neither activity, inputs nor readout"))?;
        let u = match &self.inputs {
            Some(u) if u.shape()[2] == n_in => u.clone(),
            Some(u) => {
                return Err(Error::format(
                    path,
                    format!(
                        "array 'inputs': the model has {n_in} input channels, the file {}",
                        u.shape()[2]
                    ),
                ));
            }
            None if n_in == 0 => Array3::zeros((b, t, 0)),
            None => {
                return Err(Error::format(
                    path,
                    format!("no array 'inputs', but the model has {n_in} input channels"),
                ));
            }
        };
        Ok(Stimulus {
            u,
            h0: self.initial_state.clone(),
        })
    }
}

fn arr3(z: &mut NpzIn, name: &str, layout: Layout, what: &str) -> Result<Array3<f32>> {
    let axes = match layout {
        Layout::TrialsMajor => ["trials", "time", what],
        Layout::TimeMajor => ["time", "trials", what],
    };
    let a = z.floats_shaped(name, &[None, None, None], &axes)?;
    let a = a.into_dimensionality::<Ix3>().expect("checked").mapv(|x| x as f32);
    Ok(match layout {
        Layout::TrialsMajor => a,
        Layout::TimeMajor => a.permuted_axes([1, 0, 2]).as_standard_layout().into_owned(),
    })
}

fn same_bt(path: &Path, name: &str, a: &Array3<f32>, (first, f): (&str, &Array3<f32>)) -> Result<()> {
    let (bt, fbt) = ((a.shape()[0], a.shape()[1]), (f.shape()[0], f.shape()[1]));
    if bt == fbt {
        return Ok(());
    }
    Err(Error::format(
        path,
        format!(
            "array '{name}' has {} trials × {} steps but '{first}' has {} × {}: they must cover the same trials and steps",
            bt.0, bt.1, fbt.0, fbt.1
        ),
    ))
}

/// Reads a recording of a network of `n` neurons, checking shapes, finiteness and indices.
pub fn load_recording(path: &Path, layout: Layout, n: usize) -> Result<Recording> {
    let mut z = NpzIn::open(path)?;
    let act_name = z.first_of(&["activity", crate::npz::NPY_NAME]);
    let mut rec = Recording::default();
    if let Some(name) = act_name {
        rec.activity = Some(arr3(&mut z, name, layout, "recorded neurons")?);
    }
    if z.has("recorded") {
        let r = z.indices("recorded", n)?;
        let mut sorted = r.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::format(
                path,
                format!("array 'recorded': neuron {} listed twice", w[0]),
            ));
        }
        rec.recorded = Some(r);
    }
    if z.has("inputs") {
        rec.inputs = Some(arr3(&mut z, "inputs", layout, "inputs")?);
    }
    if z.has("readout") {
        let a = z.floats("readout")?;
        let a = if a.ndim() == 2 {
            a.insert_axis(ndarray::Axis(2))
        } else {
            a
        };
        crate::npz::check_shape(
            path,
            "readout",
            a.shape(),
            &[None, None, None],
            &["trials", "time", "outputs"],
        )?;
        let a = a.into_dimensionality::<Ix3>().expect("checked").mapv(|x| x as f32);
        rec.readout = Some(match layout {
            Layout::TrialsMajor => a,
            Layout::TimeMajor => a.permuted_axes([1, 0, 2]).as_standard_layout().into_owned(),
        });
    }
    let bt = rec.trials_steps().ok_or_else(|| {
        Error::format(
            path,
            format!(
                "holds neither 'activity', 'inputs' nor 'readout' (the file holds: {})",
                z.names().join(", ")
            ),
        )
    })?;
    // Every 3-d array covers the same trials and steps; the first one present sets them.
    let present: Vec<(&str, &Array3<f32>)> = [
        ("activity", &rec.activity),
        ("inputs", &rec.inputs),
        ("readout", &rec.readout),
    ]
    .into_iter()
    .filter_map(|(name, a)| a.as_ref().map(|a| (name, a)))
    .collect();
    for &(name, a) in &present[1..] {
        same_bt(path, name, a, present[0])?;
    }
    if bt.0 == 0 || bt.1 == 0 {
        return Err(Error::format(
            path,
            format!(
                "array '{}': {} trials × {} steps: need at least one of each",
                present[0].0, bt.0, bt.1
            ),
        ));
    }
    if z.has("initial_state") {
        let a = z.floats_shaped("initial_state", &[Some(bt.0), Some(n)], &["trials", "neurons"])?;
        rec.initial_state = Some(a.into_dimensionality::<Ix2>().expect("checked").mapv(|x| x as f32));
    }
    if let (Some(a), Some(r)) = (&rec.activity, &rec.recorded)
        && a.shape()[2] != r.len()
    {
        return Err(Error::format(
            path,
            format!(
                "array 'activity' has {} neurons but 'recorded' lists {}",
                a.shape()[2],
                r.len()
            ),
        ));
    }
    Ok(rec)
}

/// Reads the stimulus of a model with `n` neurons and `n_in` inputs from `path`: a `.npy` file
/// is the inputs array itself (`B × T × n_in`); an `.npz` gives its `inputs` and, if present,
/// `initial_state` (a recording, a trajectory or a teacher's `stimulus.npz`).
pub fn load_stimulus(path: &Path, layout: Layout, n: usize, n_in: usize) -> Result<Stimulus<f32>> {
    let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let mut z = NpzIn::open(path)?;
        let u = arr3(&mut z, crate::npz::NPY_NAME, layout, "inputs")?;
        if u.shape()[2] != n_in {
            return Err(Error::format(
                path,
                format!("the model has {n_in} input channels, the file {}", u.shape()[2]),
            ));
        }
        return Ok(Stimulus::new(u));
    }
    load_recording(path, layout, n)?.stimulus(path, n_in)
}

/// Writes a simulated trajectory: `inputs`, `activity` (all N neurons), `h`, `readout`,
/// `recorded` = 0..N, per-trial `initial_state` if the stimulus had one, and `dt`.
pub fn save_trajectory(path: &Path, stim: &Stimulus<f32>, traj: &Trajectory<f32>, dt: f32) -> Result<()> {
    let n = traj.a.shape()[2];
    write_npz(path, |z| {
        z.add("inputs", &stim.u)?;
        z.add("activity", &traj.a)?;
        z.add("h", &traj.h)?;
        z.add("readout", &traj.y)?;
        z.add("recorded", &Array1::from_iter(0..n as i64))?;
        if let Some(h0) = &stim.h0 {
            z.add("initial_state", h0)?;
        }
        z.add("dt", &ndarray::arr0(dt))
    })
}
