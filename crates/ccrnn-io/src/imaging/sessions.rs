//! Imaging recordings as what a fit needs: one trial per recording (session), the matched
//! neurons as the recorded set, the signal as an [`Observation`] with its frames on the
//! model's steps, an indicator filter and a profiled scale and offset per session and neuron.

use super::{Imaging, Inputs, Matching};
use crate::{Error, Result};
use ccrnn_core::{FrameMap, Indicator, Model, NeuronSet, Observation, Sampling, Stimulus};
use ndarray::{Array1, Array2, Array3};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// How recordings are seen by the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObserveOptions {
    /// The indicator's decay, or `None` to compare the activity itself (no filter).
    #[serde(serialize_with = "indicator_name")]
    pub indicator: Option<Indicator>,
    /// Fit the indicator's time constant per neuron (starting from the indicator's).
    pub fit_tau: bool,
    /// Seconds per model time unit (τ and dt are in model units): 1 if the model's τ are in
    /// seconds, 0.01 for τ in units of 10 ms.
    pub time_unit_s: f64,
    /// How a frame is read off the model's steps.
    #[serde(serialize_with = "sampling_name")]
    pub sampling: Sampling,
    /// All recordings are trials of one session (one preparation: each neuron keeps one scale
    /// and offset across them); else each recording is its own session.
    pub one_session: bool,
    /// A saturating indicator: its half-saturation constant K in the model's activity units
    /// (the signal follows `x⁺ / (x⁺ + K)` of the filtered activity `x`); `None`: linear.
    pub saturation: Option<f64>,
    /// A scale and offset per session and neuron, fitted by least squares (the default);
    /// without, the signal is taken to be in the model's activity units.
    pub affine: bool,
}

fn indicator_name<S: serde::Serializer>(i: &Option<Indicator>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match i {
        Some(i) => s.serialize_str(&format!("{} (tau {} s)", i.name, i.tau_s)),
        None => s.serialize_none(),
    }
}

fn sampling_name<S: serde::Serializer>(x: &Sampling, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(x.name())
}

impl ObserveOptions {
    /// The options from their user-facing spellings: an indicator preset name or `none`, a
    /// decay time constant in seconds replacing the preset's, whether to fit it, seconds per
    /// model time unit and the sampling's name. The error names the option (`indicator`,
    /// `tau_ca_s`, `time_unit_s`, `sampling`), in `spell`'s spelling of option names.
    pub fn parse(
        indicator: &str,
        tau_ca_s: Option<f64>,
        fit_tau: bool,
        time_unit_s: f64,
        sampling: &str,
        spell: impl Fn(&str) -> String,
    ) -> std::result::Result<Self, String> {
        let indicator = if indicator.eq_ignore_ascii_case("none") {
            if tau_ca_s.is_some() || fit_tau {
                return Err(format!(
                    "{} none: no filter, so {} and {} do not apply",
                    spell("indicator"),
                    spell("tau_ca_s"),
                    spell("fit_tau_ca")
                ));
            }
            None
        } else {
            let preset = Indicator::preset(indicator).ok_or_else(|| {
                format!(
                    "{} {indicator:?}: not a preset (one of {}, or none)",
                    spell("indicator"),
                    Indicator::PRESETS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                )
            })?;
            Some(match tau_ca_s {
                Some(t) if t > 0.0 && t.is_finite() => Indicator {
                    name: "custom",
                    tau_s: t,
                },
                Some(t) => {
                    return Err(format!(
                        "{} {t}: must be a positive number of seconds",
                        spell("tau_ca_s")
                    ));
                }
                None => preset,
            })
        };
        if !(time_unit_s > 0.0 && time_unit_s.is_finite()) {
            return Err(format!(
                "{} {time_unit_s}: must be a positive number of seconds",
                spell("time_unit_s")
            ));
        }
        let sampling = Sampling::from_name(sampling)
            .ok_or_else(|| format!("{} {sampling:?}: expected instant or frame-average", spell("sampling")))?;
        Ok(Self {
            indicator,
            fit_tau,
            time_unit_s,
            sampling,
            one_session: false,
            saturation: None,
            affine: true,
        })
    }
}

impl Default for ObserveOptions {
    fn default() -> Self {
        Self {
            indicator: Indicator::preset("gcamp6s"),
            fit_tau: false,
            time_unit_s: 1.0,
            sampling: Sampling::Instant,
            one_session: false,
            saturation: None,
            affine: true,
        }
    }
}

/// What a fit to imaging recordings needs, and how it was assembled.
#[derive(Debug, Clone)]
pub struct Sessions {
    /// One trial per recording, from its first frame, long enough to cover its frames: the
    /// inputs held on the model's steps (zeros without inputs), the model's initial state.
    pub stim: Stimulus<f32>,
    /// The neurons recorded in at least one session (the observation's columns, ascending).
    pub recorded: NeuronSet,
    /// The signal through the observation model (`B × F × M`; NaN where a session did not
    /// record a neuron, past its last frame, and where the file had no value).
    pub obs: Observation<f32>,
    /// Per recording, which ROI is which neuron.
    pub matchings: Vec<Matching>,
    /// Per recording, its first frame's time in seconds (the model's time 0).
    pub start_s: Vec<f64>,
}

/// Assembles recordings for a fit of `model`, whose rows are named `keys`; ROI labels are
/// first translated by `table` if given. `inputs` are the sessions' stimuli (one for all, or
/// one per recording; none: zero input), on the recordings' clocks. Fails, naming the file, on
/// recordings that match no neuron, frames faster than the model's step, or inputs whose
/// channels the model does not have.
pub fn assemble(
    recordings: &[Imaging],
    inputs: &[Inputs],
    model: &Model<f32>,
    keys: &[String],
    table: Option<&HashMap<String, String>>,
    opts: &ObserveOptions,
) -> Result<Sessions> {
    let path0 = recordings
        .first()
        .map(|r| r.path.clone())
        .ok_or_else(|| Error::format(std::path::Path::new("."), "no recording given"))?;
    if !(opts.time_unit_s > 0.0 && opts.time_unit_s.is_finite()) {
        return Err(Error::format(
            &path0,
            format!("time unit {} s is not positive", opts.time_unit_s),
        ));
    }
    if let Some(k) = opts.saturation
        && !(k > 0.0 && k.is_finite())
    {
        return Err(Error::format(
            &path0,
            format!("half-saturation constant {k}: must be > 0"),
        ));
    }
    let n = model.n();
    let dt = f64::from(model.dt);
    let mut matchings = Vec::new();
    for r in recordings {
        let m = Matching::new(&r.labels, keys, table).map_err(|e| Error::format(&r.path, e))?;
        matchings.push(m);
    }
    let neurons: BTreeSet<usize> = matchings.iter().flat_map(|m| m.pairs.iter().map(|p| p.1)).collect();
    let neurons: Vec<usize> = neurons.into_iter().collect();
    let column: HashMap<usize, usize> = neurons.iter().enumerate().map(|(c, &i)| (i, c)).collect();
    let recorded = NeuronSet::new(&neurons, n).map_err(|e| Error::core(&path0, e))?;
    let (b, m) = (recordings.len(), neurons.len());
    let f_max = recordings.iter().map(Imaging::frames).max().unwrap_or(0);
    let mut times = Array2::from_elem((b, f_max), f64::NAN);
    let mut data = Array3::from_elem((b, f_max, m), f32::NAN);
    let mut start_s = Vec::new();
    let mut steps = 1;
    for (k, (r, mt)) in recordings.iter().zip(&matchings).enumerate() {
        let t0 = r.times[0];
        start_s.push(t0);
        for (f, &t) in r.times.iter().enumerate() {
            times[[k, f]] = (t - t0) / opts.time_unit_s;
        }
        let last = times[[k, r.frames() - 1]];
        // frame-average reads the last frame over one more frame interval
        let extra = if opts.sampling == Sampling::FrameAverage && r.frames() > 1 {
            last - times[[k, r.frames() - 2]]
        } else {
            0.0
        };
        // the steps around the last frame (its reading may weigh both), and one spare
        let need = ((last + extra) / dt).ceil() as usize + 2;
        if need > 100_000_000 {
            return Err(Error::format(
                &r.path,
                format!(
                    "{}: {:.0} s of recording is {need} model steps of dt = {dt} × {} s: too many (check --time-unit-s)",
                    r.source,
                    last * opts.time_unit_s,
                    opts.time_unit_s
                ),
            ));
        }
        steps = steps.max(need);
        for &(roi, neuron) in &mt.pairs {
            let c = column[&neuron];
            for f in 0..r.frames() {
                data[[k, f, c]] = r.signal[[f, roi]];
            }
        }
    }
    let frames = FrameMap::new(times.view(), dt, steps, opts.sampling).map_err(|e| {
        // name the file of the offending trial when the map names one
        let msg = e.to_string();
        let which = recordings
            .iter()
            .enumerate()
            .find(|(k, _)| msg.contains(&format!("trial {k}")))
            .map_or(path0.clone(), |(_, r)| r.path.clone());
        Error::format(
            &which,
            format!(
                "{msg} (model step dt = {dt} time units of {} s = {} s; frame rate {:.3} Hz)",
                opts.time_unit_s,
                dt * opts.time_unit_s,
                recordings[0].frame_rate()
            ),
        )
    })?;
    let tau = opts
        .indicator
        .map(|i| Array1::from_elem(m, (i.tau_s / opts.time_unit_s) as f32));
    let obs = Observation {
        frames,
        data,
        session: if opts.one_session { vec![0; b] } else { (0..b).collect() },
        tau,
        rise: None,

        saturation: opts.saturation.map(|k| Array1::from_elem(m, k as f32)),
        scale: None,
        offset: None,
        dt: model.dt,
        fit_tau: opts.fit_tau && opts.indicator.is_some(),
        profile_affine: opts.affine,
    };
    obs.validate().map_err(|e| Error::core(&path0, e))?;
    let mut u = Array3::zeros((b, steps, model.n_in()));
    if !inputs.is_empty() {
        if inputs.len() != 1 && inputs.len() != b {
            return Err(Error::format(
                &inputs[0].table.path,
                format!(
                    "{} input files for {b} recordings: give one for all, or one per recording",
                    inputs.len()
                ),
            ));
        }
        for (k, t0) in start_s.iter().enumerate() {
            let i = &inputs[k.min(inputs.len() - 1)];
            if i.channels() != model.n_in() {
                return Err(Error::format(
                    &i.table.path,
                    format!("{} input channels, but the model has {}", i.channels(), model.n_in()),
                ));
            }
            i.hold_on(u.index_axis_mut(ndarray::Axis(0), k), *t0, dt * opts.time_unit_s);
        }
    }
    let stim = Stimulus::new(u);
    Ok(Sessions {
        stim,
        recorded,
        obs,
        matchings,
        start_s,
    })
}
