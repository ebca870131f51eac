//! Transmitter identity → presynaptic sign.

use serde::Serialize;

/// A transmitter as named in connectome files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Transmitter {
    /// Acetylcholine (`ACH`, `acetylcholine`, `ach`).
    Acetylcholine,
    /// GABA.
    Gaba,
    /// Glutamate (`GLUT`): its sign depends on species and receptor (a parameter).
    Glutamate,
    /// Dopamine, serotonin, octopamine, tyramine, histamine, betaine, neuropeptides: modulatory.
    Modulatory,
}

impl Transmitter {
    /// Parses a name (case-insensitive); `Ok(None)` for an empty field, `Err` for a name
    /// that is not a transmitter.
    pub fn parse(s: &str) -> Result<Option<Self>, String> {
        let t = s.trim().to_ascii_lowercase();
        Ok(Some(match t.as_str() {
            "" | "nan" | "none" | "unknown" => return Ok(None),
            "ach" | "acetylcholine" | "cholinergic" => Self::Acetylcholine,
            "gaba" | "gabaergic" => Self::Gaba,
            "glut" | "glutamate" | "glu" | "glutamatergic" => Self::Glutamate,
            "da" | "dopamine" | "ser" | "5ht" | "serotonin" | "oct" | "octopamine" | "tyr" | "tyramine" | "his"
            | "histamine" | "peptide" | "betaine" => Self::Modulatory,
            _ => return Err(format!("unknown transmitter {s:?}")),
        }))
    }
}

/// Signs of the transmitters. Acetylcholine is excitatory (+1), GABA inhibitory (−1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SignRules {
    /// Sign of glutamate (default −1: inhibitory through GluCl in Drosophila; +1 in vertebrates
    /// and C. elegans' excitatory synapses).
    pub glutamate: i8,
    /// Sign of modulatory transmitters (default 0: unconstrained).
    pub modulatory: i8,
    /// Sign of a neuron with no transmitter given (default 0: unconstrained).
    pub unknown: i8,
}

impl Default for SignRules {
    fn default() -> Self {
        Self {
            glutamate: -1,
            modulatory: 0,
            unknown: 0,
        }
    }
}

impl SignRules {
    /// The sign of a transmitter (`None`: not given).
    pub fn sign(&self, t: Option<Transmitter>) -> i8 {
        match t {
            Some(Transmitter::Acetylcholine) => 1,
            Some(Transmitter::Gaba) => -1,
            Some(Transmitter::Glutamate) => self.glutamate,
            Some(Transmitter::Modulatory) => self.modulatory,
            None => self.unknown,
        }
    }
}
