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
    /// Arrays whose header has been checked against their size (each once, though a read
    /// tries several dtypes).
    checked: Vec<String>,
}

enum Src {
    /// The archive, read through ndarray-npy, and the same file as a zip archive, whose entry
    /// sizes bound what a header may claim.
    Npz(NpzReader<File>, zip::ZipArchive<File>),
    Npy(Vec<u8>),
}

/// Checks an `.npy` header against the bytes that actually follow it, before anything is
/// allocated: `head` is the start of the array's bytes (at least its header), `total` their
/// count. A header that claims more (or less) data than the entry holds is refused with the
/// size it claims, so a crafted shape can neither abort the process nor make it read a
/// gigabyte of padding.
pub fn check_npy_header(path: &Path, name: &str, head: &[u8], total: u64) -> Result<()> {
    let bad = |msg: String| Error::format(path, format!("array '{name}': {msg}"));
    if head.len() < 10 || &head[..6] != b"\x93NUMPY" {
        return Err(bad("not an .npy array (no NUMPY magic)".into()));
    }
    let (len, start): (usize, usize) = match head[6] {
        1 => (u16::from_le_bytes([head[8], head[9]]) as usize, 10),
        2 | 3 if head.len() >= 12 => (u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize, 12),
        v => return Err(bad(format!("unsupported .npy format version {v}"))),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= head.len())
        .ok_or_else(|| bad(format!("header of {len} bytes runs past the data")))?;
    let dict = std::str::from_utf8(&head[start..end]).map_err(|_| bad("header is not text".into()))?;
    let field = |key: &str| header_field(dict, key);
    let descr = field("descr")
        .and_then(quoted)
        .ok_or_else(|| bad("header has no 'descr'".into()))?;
    if descr.trim_start_matches(['<', '>', '|', '=']).starts_with('O') {
        return Err(bad(
            "holds Python objects (pickled), which ccrnn does not read: save numbers, or strings as np.array(labels, dtype=str)"
                .into(),
        ));
    }
    let itemsize: u64 = descr
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .map_err(|_| bad(format!("header dtype {descr:.20} is not a plain numeric type")))?;
    // Unicode strings count 4 bytes per character.
    let itemsize = if descr
        .trim_start_matches(['\'', '"', '<', '>', '|', '='])
        .starts_with('U')
    {
        itemsize.saturating_mul(4)
    } else {
        itemsize
    };
    let shape_text = field("shape")
        .and_then(|t| t.strip_prefix('('))
        .and_then(|t| t.split(')').next())
        .ok_or_else(|| bad("header has no 'shape'".into()))?;
    let mut count: u64 = 1;
    let mut dims = Vec::new();
    for d in shape_text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let d: u64 = d
            .trim_end_matches('L')
            .parse()
            .map_err(|_| bad(format!("header shape ({shape_text}) is not a list of sizes")))?;
        dims.push(d.to_string());
        count = count.saturating_mul(d);
    }
    let claimed = count.saturating_mul(itemsize);
    let have = total.saturating_sub(end as u64);
    if claimed != have {
        return Err(bad(format!(
            "header claims shape ({}) of {itemsize}-byte values = {} but the file holds {} after the header",
            dims.join(", "),
            human_bytes(claimed),
            human_bytes(have)
        )));
    }
    Ok(())
}

/// `n` bytes as a short human figure (`8.0 TB`, `80 bytes`).
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1000.0;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if n == u64::MAX {
        "more than 18 EB".into()
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
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
                checked: Vec::new(),
            });
        }
        if path.is_dir() {
            return Err(Error::format(path, "is a directory, not an .npz file"));
        }
        let zip = File::open(path).map_err(|e| Error::io(path, e)).and_then(|f| {
            zip::ZipArchive::new(f).map_err(|e| Error::format(path, format!("not a readable .npz archive ({e})")))
        })?;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader =
            NpzReader::new(file).map_err(|e| Error::format(path, format!("not a readable .npz archive ({e})")))?;
        let names = reader
            .names()
            .map_err(|e| Error::format(path, format!("not a readable .npz archive ({e})")))?;
        Ok(Self {
            path: path.to_path_buf(),
            src: Src::Npz(reader, zip),
            names,
            checked: Vec::new(),
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
        self.check_size(name)?;
        let r = match &mut self.src {
            Src::Npz(z, _) => z.by_name::<OwnedRepr<A>, IxDyn>(name).map_err(|e| match e {
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

    /// Checks the header of array `name` against the size of its data ([`check_npy_header`]).
    fn check_size(&mut self, name: &str) -> Result<()> {
        if self.checked.iter().any(|c| c == name) {
            return Ok(());
        }
        self.check_header(name)?;
        self.checked.push(name.to_string());
        Ok(())
    }

    fn check_header(&mut self, name: &str) -> Result<()> {
        use std::io::Read;
        let path = self.path.clone();
        match &mut self.src {
            Src::Npy(bytes) => check_npy_header(&path, name, bytes, bytes.len() as u64),
            Src::Npz(_, zip) => {
                let entry = if zip.index_for_name(&format!("{name}.npy")).is_some() {
                    format!("{name}.npy")
                } else {
                    name.to_string()
                };
                let e = zip
                    .by_name(&entry)
                    .map_err(|e| Error::format(&path, format!("array '{name}': unreadable zip entry ({e})")))?;
                let total = e.size();
                let mut head = Vec::with_capacity(4096);
                e.take(65_536 + 12)
                    .read_to_end(&mut head)
                    .map_err(|e| Error::format(&path, format!("array '{name}': unreadable zip entry ({e})")))?;
                check_npy_header(&path, name, &head, total)
            }
        }
    }

    /// Reads a floating-point array (stored as float32 or float64), checking that every value
    /// is finite.
    pub fn floats(&mut self, name: &str) -> Result<ArrayD<f64>> {
        self.floats_checked(name, false)
    }

    /// Reads a floating-point array in which NaN marks a missing value (infinities are
    /// refused).
    pub fn floats_or_nan(&mut self, name: &str) -> Result<ArrayD<f64>> {
        self.floats_checked(name, true)
    }

    fn floats_checked(&mut self, name: &str, nan_ok: bool) -> Result<ArrayD<f64>> {
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
        if let Some((idx, v)) = a.indexed_iter().find(|(_, v)| !(v.is_finite() || nan_ok && v.is_nan())) {
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

    /// Reads a vector of texts: a NumPy string array (`np.array(["AVAL", "AVAR"])`, dtype
    /// `<U`), or a text stored as bytes ([`Self::text`]) with one entry per line.
    pub fn strings(&mut self, name: &str) -> Result<Vec<String>> {
        if !self.has(name) {
            return Err(self.missing(name));
        }
        self.check_size(name)?;
        let bytes = self.raw(name)?;
        let bad = |m: &str| Error::format(&self.path, format!("array '{name}': {m}"));
        let (header, body) = npy_parts(&bytes).ok_or_else(|| bad("not an .npy array"))?;
        let descr = header_field(header, "descr").and_then(quoted).unwrap_or_default();
        if descr.ends_with("u1") || descr.ends_with("i1") {
            let text = self.text(name)?;
            return Ok(text.lines().map(str::to_string).collect());
        }
        let width: usize = match descr.strip_prefix(['<', '=', '|']).and_then(|d| d.strip_prefix('U')) {
            Some(w) => w.parse().map_err(|_| bad("malformed string dtype"))?,
            None => return Err(bad(&format!("expected strings (dtype <U…), found dtype {descr}"))),
        };
        let chars: Vec<u32> = body
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if width == 0 {
            return Ok(Vec::new());
        }
        let count = chars.len() / width;
        // the dimensions between the parentheses: exactly one
        let shape = header_field(header, "shape")
            .and_then(|t| t.strip_prefix('('))
            .and_then(|t| t.split(')').next())
            .unwrap_or_default();
        let dims: Vec<&str> = shape.split(',').map(str::trim).filter(|d| !d.is_empty()).collect();
        if dims.len() != 1 {
            return Err(bad(&format!("expected a 1-d string array, found shape ({shape:.40})")));
        }
        (0..count)
            .map(|k| {
                chars[k * width..(k + 1) * width]
                    .iter()
                    .take_while(|&&c| c != 0)
                    .map(|&c| char::from_u32(c).ok_or_else(|| bad(&format!("entry {k} is not valid Unicode"))))
                    .collect::<Result<String>>()
            })
            .collect()
    }

    /// The bytes of array `name`'s `.npy` entry.
    fn raw(&mut self, name: &str) -> Result<Vec<u8>> {
        use std::io::Read;
        let path = self.path.clone();
        match &mut self.src {
            Src::Npy(bytes) => Ok(bytes.clone()),
            Src::Npz(_, zip) => {
                let entry = if zip.index_for_name(&format!("{name}.npy")).is_some() {
                    format!("{name}.npy")
                } else {
                    name.to_string()
                };
                let mut out = Vec::new();
                zip.by_name(&entry)
                    .and_then(|mut e| e.read_to_end(&mut out).map_err(Into::into))
                    .map_err(|e| Error::format(&path, format!("array '{name}': unreadable zip entry ({e})")))?;
                Ok(out)
            }
        }
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

/// A writer that passes the first error on and then discards everything: the zip writer
/// finishes its archive when dropped, and without this would, after a failed write (a full
/// disk, a file-size limit), try again and print its own debug text on stderr. The archive is
/// a staging file that is removed after any error, so nothing of value is discarded.
struct Latch<W> {
    inner: W,
    failed: bool,
    /// Position and length of the stream, followed after a failure as if the writes had
    /// succeeded, so that the zip writer's offsets stay consistent.
    pos: u64,
    len: u64,
}

impl<W> Latch<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            failed: false,
            pos: 0,
            len: 0,
        }
    }
    fn advance(&mut self, n: usize) {
        self.pos += n as u64;
        self.len = self.len.max(self.pos);
    }
}

impl<W: std::io::Write> std::io::Write for Latch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = if self.failed {
            buf.len()
        } else {
            self.inner.write(buf).inspect_err(|_| self.failed = true)?
        };
        self.advance(n);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed {
            return Ok(());
        }
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

impl<W: std::io::Seek> std::io::Seek for Latch<W> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        use std::io::SeekFrom;
        if !self.failed {
            self.pos = self.inner.seek(to).inspect_err(|_| self.failed = true)?;
            self.len = self.len.max(self.pos);
            return Ok(self.pos);
        }
        let at = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        self.pos = at.ok_or_else(|| std::io::Error::other("seek before the start"))?;
        Ok(self.pos)
    }
}

/// An `.npz` archive being filled by [`write_npz`].
pub struct NpzSink<'a, 'w> {
    path: &'a Path,
    npz: NpzWriter<Latch<&'w mut std::io::BufWriter<File>>>,
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
        let latch = Latch::new(w);
        let mut sink = NpzSink {
            path,
            npz: NpzWriter::new(latch),
        };
        fill(&mut sink)?;
        let latch = sink
            .npz
            .finish()
            .map_err(|e| Error::format(path, format!("finishing the archive: {e}")))?;
        if latch.failed {
            return Err(Error::format(path, "writing the archive failed"));
        }
        Ok(())
    })
}

/// An `.npy` array's header text and data bytes.
pub(crate) fn npy_parts(bytes: &[u8]) -> Option<(&str, &[u8])> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return None;
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return None,
    };
    let end = start.checked_add(len).filter(|&e| e <= bytes.len())?;
    Some((std::str::from_utf8(&bytes[start..end]).ok()?, &bytes[end..]))
}

/// The text of a quoted value (`'<U4'` → `<U4`) at the start of `t`.
fn quoted(t: &str) -> Option<&str> {
    t.strip_prefix(['\'', '"'])?.split(['\'', '"']).next()
}

/// The text after `'key':` in an `.npy` header dictionary.
fn header_field<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let at = dict.find(&format!("'{key}'"))? + key.len() + 2;
    Some(dict[at..].trim_start().strip_prefix(':')?.trim_start())
}
