//! Reading and writing NumPy `.npz` and `.npy` files with the checks users need: any float
//! dtype, any integer dtype for indices, shapes and finiteness checked with messages that name
//! the file and the array.

use crate::{Error, Result, write_atomic_with};
use ndarray::{ArrayD, Dimension, IxDyn, OwnedRepr};
use ndarray_npy::{NpzReader, NpzWriter, ReadNpyError, ReadNpzError, ReadableElement, WritableElement};
use std::fs::File;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// An open `.npz` archive, or a single `.npy` array (named `array`).
pub struct NpzIn {
    path: PathBuf,
    src: Src,
    names: Vec<String>,
}

enum Src {
    Npz(NpzReader<File>),
    Npy(Vec<u8>),
}

/// The name under which a lone `.npy` file's array is known.
pub const NPY_NAME: &str = "array";

impl NpzIn {
    /// Opens `path`: `.npy` files hold one array, anything else is read as `.npz`.
    pub fn open(path: &Path) -> Result<Self> {
        let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        if is_npy {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            return Ok(Self {
                path: path.to_path_buf(),
                src: Src::Npy(bytes),
                names: vec![NPY_NAME.into()],
            });
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader =
            NpzReader::new(file).map_err(|e| Error::format(path, format!("not a readable .npz archive ({e})")))?;
        let names = reader
            .names()
            .map_err(|e| Error::format(path, format!("not a readable .npz archive ({e})")))?;
        Ok(Self {
            path: path.to_path_buf(),
            src: Src::Npz(reader),
            names,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Names of the arrays held.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether an array called `name` is held.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The first of `names` that is held (aliases of one array).
    pub fn first_of<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names.iter().copied().find(|n| self.has(n))
    }

    fn missing(&self, name: &str) -> Error {
        Error::format(
            &self.path,
            format!("no array '{name}' (the file holds: {})", self.names.join(", ")),
        )
    }

    /// Reads `name` as element type `A`; `Ok(None)` when the file's dtype is another one.
    fn typed<A: ReadableElement>(&mut self, name: &str) -> Result<Option<ArrayD<A>>> {
        let r = match &mut self.src {
            Src::Npz(z) => z.by_name::<OwnedRepr<A>, IxDyn>(name).map_err(|e| match e {
                ReadNpzError::Npy(n) => Some(n),
                ReadNpzError::Zip(_) => None,
            }),
            Src::Npy(bytes) => <ArrayD<A> as ndarray_npy::ReadNpyExt>::read_npy(Cursor::new(&bytes[..])).map_err(Some),
        };
        match r {
            Ok(a) => Ok(Some(a)),
            Err(Some(ReadNpyError::WrongDescriptor(_))) => Ok(None),
            Err(Some(e)) => Err(Error::format(&self.path, format!("array '{name}': {e}"))),
            Err(None) => Err(Error::format(
                &self.path,
                format!("array '{name}': unreadable zip entry"),
            )),
        }
    }

    /// Reads a floating-point array (stored as float32 or float64), checking that every value
    /// is finite.
    pub fn floats(&mut self, name: &str) -> Result<ArrayD<f64>> {
        if !self.has(name) {
            return Err(self.missing(name));
        }
        let a = if let Some(a) = self.typed::<f64>(name)? {
            a
        } else if let Some(a) = self.typed::<f32>(name)? {
            a.mapv(f64::from)
        } else {
            return Err(Error::format(
                &self.path,
                format!("array '{name}': expected float32 or float64 values"),
            ));
        };
        if let Some((idx, v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::format(
                &self.path,
                format!("array '{name}': value at index {:?} is {v}", idx.slice()),
            ));
        }
        Ok(a)
    }

    /// Reads a floating-point array of the given shape; `None` entries match any length.
    /// `axes` names the dimensions for the error message (e.g. `["trials", "time", "neurons"]`).
    pub fn floats_shaped(&mut self, name: &str, shape: &[Option<usize>], axes: &[&str]) -> Result<ArrayD<f64>> {
        let a = self.floats(name)?;
        check_shape(&self.path, name, a.shape(), shape, axes)?;
        Ok(a)
    }

    /// Reads an integer array (any signed or unsigned integer dtype, or bool) as `i64`.
    pub fn integers(&mut self, name: &str) -> Result<ArrayD<i64>> {
        if !self.has(name) {
            return Err(self.missing(name));
        }
        macro_rules! try_int {
            ($($t:ty),*) => {$(
                if let Some(a) = self.typed::<$t>(name)? {
                    return Ok(a.mapv(|x| x as i64));
                }
            )*};
        }
        try_int!(i64, i32, i16, i8, u32, u16, u8);
        if let Some(a) = self.typed::<u64>(name)? {
            return a
                .iter()
                .map(|&x| i64::try_from(x))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(|v| ArrayD::from_shape_vec(a.raw_dim(), v).expect("same length"))
                .map_err(|_| Error::format(&self.path, format!("array '{name}': value exceeds 2^63")));
        }
        if let Some(a) = self.typed::<bool>(name)? {
            return Ok(a.mapv(i64::from));
        }
        Err(Error::format(
            &self.path,
            format!("array '{name}': expected integer values"),
        ))
    }

    /// Reads a vector of 64-bit ids (uint64, or any non-negative integer type), exactly.
    pub fn ids(&mut self, name: &str) -> Result<Vec<u64>> {
        if !self.has(name) {
            return Err(self.missing(name));
        }
        if let Some(a) = self.typed::<u64>(name)? {
            return Ok(a.iter().copied().collect());
        }
        self.integers(name)?
            .iter()
            .map(|&x| {
                u64::try_from(x).map_err(|_| Error::format(&self.path, format!("array '{name}': negative id {x}")))
            })
            .collect()
    }

    /// Reads a text stored as a byte array (`np.frombuffer(b"softplus", np.uint8)`) or as a
    /// 0-d integer array of bytes.
    pub fn text(&mut self, name: &str) -> Result<String> {
        let bytes = self.integers(name)?;
        let v: Vec<u8> = bytes
            .iter()
            .map(|&b| u8::try_from(b))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::format(&self.path, format!("array '{name}': expected a text as uint8 bytes")))?;
        String::from_utf8(v).map_err(|_| Error::format(&self.path, format!("array '{name}': not UTF-8 text")))
    }

    /// Reads a vector of indices, each in `0..n`.
    pub fn indices(&mut self, name: &str, n: usize) -> Result<Vec<usize>> {
        let a = self.integers(name)?;
        if a.ndim() != 1 {
            return Err(Error::format(
                &self.path,
                format!(
                    "array '{name}': expected a vector of indices, got shape {:?}",
                    a.shape()
                ),
            ));
        }
        a.iter()
            .enumerate()
            .map(|(k, &i)| {
                usize::try_from(i).ok().filter(|&i| i < n).ok_or_else(|| {
                    Error::format(
                        &self.path,
                        format!("array '{name}'[{k}] = {i}: not a neuron index in 0..{n}"),
                    )
                })
            })
            .collect()
    }
}

/// Checks `got` against `want` (`None` = any length), naming the array and its axes.
pub fn check_shape(path: &Path, name: &str, got: &[usize], want: &[Option<usize>], axes: &[&str]) -> Result<()> {
    let fmt_want = want
        .iter()
        .zip(axes.iter().chain(std::iter::repeat(&"?")))
        .map(|(w, a)| match w {
            Some(n) => format!("{n} {a}"),
            None => a.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" × ");
    let ok = got.len() == want.len() && got.iter().zip(want).all(|(g, w)| w.is_none_or(|w| w == *g));
    if ok {
        Ok(())
    } else {
        let g = got.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" × ");
        Err(Error::format(
            path,
            format!(
                "array '{name}': expected {fmt_want}, got {}",
                if g.is_empty() { "a scalar".into() } else { g }
            ),
        ))
    }
}

/// An `.npz` archive being filled by [`write_npz`].
pub struct NpzSink<'a, 'w> {
    path: &'a Path,
    npz: NpzWriter<&'w mut std::io::BufWriter<File>>,
}

impl NpzSink<'_, '_> {
    /// Adds an array (any dimension) under `name`.
    pub fn add<A, S, D>(&mut self, name: &str, array: &ndarray::ArrayBase<S, D>) -> Result<()>
    where
        A: WritableElement,
        S: ndarray::Data<Elem = A>,
        D: ndarray::Dimension,
    {
        self.npz
            .add_array(name, array)
            .map_err(|e| Error::format(self.path, format!("writing array '{name}': {e}")))
    }

    /// Adds a text as a `uint8` byte array (`bytes(z[name]).decode()` in NumPy).
    pub fn add_text(&mut self, name: &str, text: &str) -> Result<()> {
        self.add(name, &ndarray::Array1::from(text.as_bytes().to_vec()))
    }
}

/// Writes an `.npz` archive atomically: `fill` adds the arrays; on any error the target is
/// left untouched.
pub fn write_npz(path: &Path, fill: impl FnOnce(&mut NpzSink) -> Result<()>) -> Result<()> {
    write_atomic_with(path, |w| {
        let mut sink = NpzSink {
            path,
            npz: NpzWriter::new(w),
        };
        fill(&mut sink)?;
        sink.npz
            .finish()
            .map_err(|e| Error::format(path, format!("finishing the archive: {e}")))?;
        Ok(())
    })
}
