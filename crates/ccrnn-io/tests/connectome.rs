//! Connectome loaders: every format on small hand-written files, ids kept exactly, what was
//! dropped counted, bad files named, random bytes never panic; the larval brain's counts.

use ccrnn_io::connectome::{Lattice, load_csv, load_dense, load_flyvis};
use ccrnn_io::{LoadOptions, Source, load_connectome};
use std::io::Write;
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ccrnn-conn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn gz(path: &Path, text: &str) {
    let mut e = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap();
}

/// W[post, pre] as (post id, pre id, count) triples.
fn edges(c: &ccrnn_core::Connectome) -> Vec<(u64, u64, f64)> {
    let p = &c.pattern;
    let mut v = Vec::new();
    for i in 0..c.n() {
        for e in p.row_ptr()[i]..p.row_ptr()[i + 1] {
            v.push((c.ids[i], c.ids[p.col()[e] as usize], c.counts[e]));
        }
    }
    v
}

#[test]
fn generic_edge_list_with_transmitters() {
    let d = dir("generic");
    let f = d.join("edges.csv");
    std::fs::write(&f, "pre,post,weight,transmitter\n10,20,3,ACH\n20,10,2,GABA\n10,30,1,acetylcholine\n30,30,4,GLUT\n30,10,2,glutamate\n").unwrap();
    let (c, r) = load_csv(&f, None, &LoadOptions::default()).unwrap();
    assert_eq!(c.ids, vec![10, 20, 30]);
    assert_eq!(c.signs, vec![1, -1, -1], "ACh +, GABA −, glutamate − by default");
    assert_eq!(
        edges(&c),
        vec![(10, 20, 2.0), (10, 30, 2.0), (20, 10, 3.0), (30, 10, 1.0)]
    );
    assert_eq!((r.rows, r.self_loops, r.merged_rows), (5, 1, 0));
    let mut o = LoadOptions::default();
    o.signs.glutamate = 1;
    o.self_loops = true;
    let (c, _) = load_csv(&f, None, &o).unwrap();
    assert_eq!(c.signs[2], 1);
    assert_eq!(c.edges(), 5);
    // Weights: sign × count.
    let w = c.connectivity::<f64>(0.5).unwrap().to_dense();
    assert_eq!(w[(0, 1)], -1.0); // 10 ← 20 (GABA), 2 synapses × 0.5
}

#[test]
fn flywire_rows_are_summed_across_neuropils_thresholded_and_ids_exact() {
    let d = dir("flywire");
    let f = d.join("connections.csv.gz");
    // 64-bit root ids above 2^53: a float would round them.
    let (a, b, c) = (720575940621234567u64, 720575940621234568u64, 720575940600000001u64);
    gz(
        &f,
        &format!(
            "pre_root_id,post_root_id,neuropil,syn_count,nt_type\n{a},{b},AL_L,3,ACH\n{a},{b},LH_L,4,ACH\n{b},{c},AL_L,4,GABA\n{c},{a},ME_R,9,\n"
        ),
    );
    let opts = LoadOptions {
        threshold: 5.0,
        ..LoadOptions::default()
    };
    let (con, r) = load_connectome(&Source::guess(&f, None), &opts).unwrap();
    assert_eq!(con.ids, vec![c, a, b]);
    assert_eq!(
        edges(&con),
        vec![(a, c, 9.0), (b, a, 7.0)],
        "b ← c (4 synapses) is below the threshold"
    );
    assert_eq!((r.rows, r.merged_rows, r.below_threshold), (4, 1, 1));
    assert_eq!(r.below_threshold_synapses, 4.0);
    assert_eq!(con.signs, vec![0, 1, -1], "no transmitter → unknown (0)");
    assert_eq!(r.files[0].sha256.len(), 64);
}

#[test]
fn neuropil_rows_and_neuron_selection() {
    let d = dir("select");
    let f = d.join("c.csv");
    std::fs::write(
        &f,
        "pre_root_id,post_root_id,neuropil,syn_count,nt_type\n1,2,AL_L,3,ACH\n1,2,LH_L,4,ACH\n2,3,ME_R,9,GABA\n3,1,AL_L,2,ACH\n",
    )
    .unwrap();
    let opts = LoadOptions {
        neuropils: vec!["al_l".into()],
        ..LoadOptions::default()
    };
    let (c, r) = load_csv(&f, None, &opts).unwrap();
    assert_eq!(c.ids, vec![1, 2, 3]);
    assert_eq!(edges(&c), vec![(1, 3, 2.0), (2, 1, 3.0)]);
    assert_eq!(r.outside_neuropils, 2);
    // Selection by id keeps the order and re-indexes; synapses to removed neurons go.
    let (c, mut r) = load_csv(&f, None, &LoadOptions::default()).unwrap();
    let s = ccrnn_io::connectome::select(&c, &[], &[3, 1], &mut r).unwrap();
    assert_eq!(s.ids, vec![1, 3]);
    assert_eq!(edges(&s), vec![(1, 3, 2.0)]);
    assert_eq!(r.deselected, 1);
    assert!(
        ccrnn_io::connectome::select(&c, &[], &[99], &mut r)
            .unwrap_err()
            .contains("id 99")
    );
    std::fs::write(d.join("nonp.csv"), "pre,post,weight\n1,2,3\n").unwrap();
    let e = load_csv(&d.join("nonp.csv"), None, &opts).unwrap_err().to_string();
    assert!(e.contains("no 'neuropil' column"), "{e}");
}

#[test]
fn neuprint_export_with_node_table() {
    let d = dir("neuprint");
    let nodes = d.join("traced-neurons.csv");
    let conns = d.join("traced-total-connections.csv");
    std::fs::write(
        &nodes,
        "bodyId,type,instance\n5813,KC,KC_R\n1234,MBON01,MBON01_R\n99,,\n",
    )
    .unwrap();
    std::fs::write(&conns, "bodyId_pre,bodyId_post,weight\n5813,1234,12\n1234,5813,3\n").unwrap();
    let (c, r) = load_csv(&conns, Some(&nodes), &LoadOptions::default()).unwrap();
    assert_eq!(c.ids, vec![5813, 1234, 99], "node table order");
    assert_eq!(c.labels, vec!["KC", "MBON01", ""]);
    assert_eq!(edges(&c), vec![(5813, 1234, 3.0), (1234, 5813, 12.0)]);
    assert_eq!(r.isolated, 1);
    assert_eq!(r.files.len(), 2);
}

#[test]
fn dense_matrix_npz() {
    let d = dir("dense");
    let f = d.join("w.npz");
    let mut z = ndarray_npy::NpzWriter::new(std::fs::File::create(&f).unwrap());
    z.add_array(
        "W",
        &ndarray::arr2(&[[0.0f64, -2.0, 1.0], [3.0, 0.0, 0.0], [0.0, -1.0, 5.0]]),
    )
    .unwrap();
    z.add_array("ids", &ndarray::arr1(&[7i64, 8, 9])).unwrap();
    z.finish().unwrap();
    let (c, r) = load_dense(&f, &LoadOptions::default()).unwrap();
    assert_eq!(c.ids, vec![7, 8, 9]);
    assert_eq!(c.signs, vec![0, -1, 0]);
    assert_eq!(edges(&c), vec![(7, 8, 2.0), (7, 9, 1.0), (8, 7, 3.0), (9, 8, 1.0)]);
    assert_eq!(r.self_loops, 1);
}

fn err(f: &Path, nodes: Option<&Path>) -> String {
    load_csv(f, nodes, &LoadOptions::default())
        .expect_err("must fail")
        .to_string()
}

#[test]
fn bad_files_name_file_line_and_column() {
    let d = dir("bad");
    let w = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // Truncated gzip.
    let full = d.join("full.csv.gz");
    gz(
        &full,
        &"pre,post,weight\n"
            .chars()
            .chain((0..2000).flat_map(|i| format!("{i},{},1\n", i + 1).chars().collect::<Vec<_>>()))
            .collect::<String>(),
    );
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.join("cut.csv.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = err(&cut, None);
    assert!(e.contains("cut.csv.gz") && e.contains("gzip"), "{e}");
    let e = err(&w("nocol.csv", "pre,post\n1,2\n"), None);
    assert!(
        e.contains("nocol.csv") && e.contains("missing column 'weight'") && e.contains("syn_count"),
        "{e}"
    );
    let e = err(&w("nan.csv", "pre,post,weight\n1,2,3\n1,3,n/a\n"), None);
    assert!(
        e.contains("nan.csv: line 3, column 'weight': expected a number, got \"n/a\""),
        "{e}"
    );
    let e = err(&w("neg.csv", "pre,post,weight\n1,2,-3\n"), None);
    assert!(e.contains("line 2, column 'weight': negative count -3"), "{e}");
    let e = err(&w("id.csv", "pre,post,weight\n1.5,2,3\n"), None);
    assert!(
        e.contains("line 2, column 'pre': expected a non-negative integer id"),
        "{e}"
    );
    let nodes = w("dup.csv", "node_id,super_class\n1,KC\n2,PN\n1,LN\n");
    let e = err(&w("e1.csv", "source,target,weight\n1,2,1\n"), Some(&nodes));
    assert!(
        e.contains("dup.csv: line 4, column 'id': duplicate node id 1 (first on line 2)"),
        "{e}"
    );
    let nodes = w("nodes.csv", "node_id,super_class\n1,KC\n2,PN\n");
    let e = err(&w("e2.csv", "source,target,weight\n1,2,1\n2,77,1\n"), Some(&nodes));
    assert!(e.contains("e2.csv: line 3: neuron 77 is not in the node table"), "{e}");
    let e = err(
        &w("nt.csv", "pre,post,weight,nt_type\n1,2,3,ACH\n2,1,3,kryptonite\n"),
        None,
    );
    assert!(
        e.contains("line 3, column 'transmitter': unknown transmitter \"kryptonite\""),
        "{e}"
    );
    let e = err(&w("empty.csv", ""), None);
    assert!(e.contains("empty.csv: empty file"), "{e}");
    let e = err(&w("header_only.csv", "pre,post,weight\n"), None);
    assert!(e.contains("header_only.csv: empty file: no edges"), "{e}");
    let e = err(&w("ragged.csv", "pre,post,weight\n1,2,3\n4,5\n"), None);
    assert!(e.contains("ragged.csv: line 3"), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400), header in 0usize..3) {
        let d = std::env::temp_dir().join(format!("ccrnn-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let heads: [&[u8]; 3] = [b"", b"pre,post,weight\n", b"\x1f\x8b"];
        let mut content = heads[header].to_vec();
        content.extend(&bytes);
        let f = d.join("x.csv");
        std::fs::write(&f, &content).unwrap();
        let _ = load_csv(&f, None, &LoadOptions::default());
        let _ = load_csv(&f, Some(&f), &LoadOptions::default());
        let n = d.join("x.npz");
        std::fs::write(&n, &content).unwrap();
        let _ = load_dense(&n, &LoadOptions::default());
        let n = d.join("x.npy");
        std::fs::write(&n, &content).unwrap();
        let _ = load_dense(&n, &LoadOptions::default());
        let j = d.join("x.json");
        std::fs::write(&j, &content).unwrap();
        let _ = load_flyvis(&j, &LoadOptions::default());
    }
}

/// The larval whole brain (../shared/data, beside the project): counts as its README states.
#[test]
fn larva_whole_brain_counts() {
    let base = std::env::var_os("CCRNN_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("data/larva_brain_winding2023");
    if !base.join("edgelist.csv.gz").is_file() {
        // CI has the shared directory and sets CCRNN_REQUIRE_SHARED: there the test must run.
        assert!(
            std::env::var_os("CCRNN_REQUIRE_SHARED").is_none(),
            "{} not found, and CCRNN_REQUIRE_SHARED is set",
            base.display()
        );
        eprintln!(
            "SKIPPED larva_whole_brain_counts: {} not found (set CCRNN_SHARED_DIR)",
            base.display()
        );
        return;
    }
    let opts = LoadOptions {
        self_loops: true,
        ..LoadOptions::default()
    };
    let (c, r) = load_csv(&base.join("edgelist.csv.gz"), Some(&base.join("nodes.csv.gz")), &opts).unwrap();
    assert_eq!(c.n(), 3066);
    assert_eq!(c.edges(), 110_677);
    assert_eq!(c.synapses(), 352_611.0);
    assert_eq!(c.n() - r.isolated, 2952);
    assert_eq!(
        r.files[0].sha256,
        "88efab8e5e3ed8515d1e0663046dfe26a7cd9c551e64ce222690ffc531544025"
    );
    assert!(c.labels.iter().any(|l| l == "KC"));
}

/// The bundled C. elegans connectome: counts of Cook et al. 2019 as derived by build.py.
#[test]
fn bundled_celegans_counts() {
    let opts = LoadOptions {
        self_loops: true,
        ..LoadOptions::default()
    };
    let (c, r) = load_connectome(&Source::guess(Path::new("celegans"), None), &opts).unwrap();
    assert_eq!((c.n(), c.edges(), c.synapses()), (302, 3709, 20965.0));
    assert_eq!(c.signs.iter().filter(|&&s| s > 0).count(), 159, "acetylcholine neurons");
    assert_eq!(c.labels.iter().filter(|l| *l == "sensory").count(), 83);
    assert_eq!(r.files[0].path, "builtin:celegans/edges.csv");
    let (c, r) = load_connectome(&Source::guess(Path::new("celegans"), None), &LoadOptions::default()).unwrap();
    assert_eq!((c.edges(), r.self_loops), (3709 - 38, 38));
    let e = load_connectome(&Source::Builtin("zebrafish".into()), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no bundled connectome") && e.contains("celegans"), "{e}");
}

/// A flyvis wiring by hand. At extent 1 the lattice has 7 columns; type A (stride 1) gets ids
/// 0–6 at (−1,0), (−1,1), (0,−1), (0,0), (0,1), (1,−1), (1,0); the single C is id 7 at (0,0).
const FLYVIS: &str = r#"{"nodes": [
  {"name": "A", "pattern": ["stride", [1, 1]], "activation": "relu"},
  {"name": "C", "pattern": ["single", null]}],
 "edges": [
  {"src": "A", "tar": "A", "alpha": 1, "offsets": [[[1, 0], 3]], "edge_type": "chem"},
  {"src": "C", "tar": "A", "alpha": -1,
   "offsets": [[[-1, 0], 2], [[1, 0], 2], [[0, -1], 2], [[0, 1], 2]]}],
 "input_units": ["A"], "output_units": ["C"]}"#;

#[test]
fn flyvis_wiring_expands_onto_the_hexagonal_lattice() {
    let d = dir("flyvis");
    let f = d.join("wiring.json.gz");
    gz(&f, FLYVIS);
    assert_eq!(Source::guess(&f, None), Source::Flyvis(f.clone()));
    let opts = LoadOptions {
        lattice: Lattice {
            extent: 1,
            n_syn_fill: 1.0,
        },
        ..LoadOptions::default()
    };
    let (c, r) = load_connectome(&Source::guess(&f, None), &opts).unwrap();
    assert_eq!(c.n(), 8);
    assert_eq!(c.ids, (0..8).collect::<Vec<u64>>());
    assert_eq!(c.labels[..7], ["A"; 7]);
    assert_eq!(c.labels[7], "C");
    assert_eq!(c.signs, [1, 1, 1, 1, 1, 1, 1, -1]);
    let mut e = edges(&c);
    e.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // A → A one column along u; C → its four neighbours (2 synapses) and, filling the hull's
    // gap, the A of its own column (1 synapse).
    let want = [
        (0, 7, 2.0),
        (2, 7, 2.0),
        (3, 0, 3.0),
        (3, 7, 1.0),
        (4, 1, 3.0),
        (4, 7, 2.0),
        (5, 2, 3.0),
        (6, 3, 3.0),
        (6, 7, 2.0),
    ];
    assert_eq!(e, want);
    assert_eq!((r.rows, r.mixed_sign, r.unknown_sign), (2, 0, 0));
    // No filling, and a larger lattice.
    let opts = LoadOptions {
        lattice: Lattice {
            extent: 2,
            n_syn_fill: 0.0,
        },
        ..LoadOptions::default()
    };
    let (c, _) = load_flyvis(&f, &opts).unwrap();
    assert_eq!(c.n(), 19 + 1);
    assert!(edges(&c).iter().all(|&(_, _, w)| w >= 2.0), "no filled synapse");
}

#[test]
fn bad_flyvis_files_are_named() {
    let d = dir("flyvis-bad");
    let err = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        load_flyvis(&p, &LoadOptions::default())
            .expect_err("must fail")
            .to_string()
    };
    let e = err("syntax.json", "{\"nodes\": [\n  {\"name\": \"A\",, }]}");
    assert!(e.contains("syntax.json") && e.contains("line 2 column"), "{e}");
    let e = err(
        "tar.json",
        &FLYVIS.replace("\"tar\": \"A\", \"alpha\": -1", "\"tar\": \"Q\", \"alpha\": -1"),
    );
    assert!(e.contains("tar.json: edges[1].tar: unknown cell type \"Q\""), "{e}");
    let e = err("alpha.json", &FLYVIS.replace("\"alpha\": 1,", "\"alpha\": 0.5,"));
    assert!(e.contains("edges[0] (A → A): alpha 0.5, expected 1 or -1"), "{e}");
    let e = err("neg.json", &FLYVIS.replace("[[1, 0], 3]", "[[1, 0], -3]"));
    assert!(e.contains("edges[0] (A → A): synapse count -3"), "{e}");
    let e = err("pat.json", &FLYVIS.replace("\"stride\", [1, 1]", "\"stride\", [0, 1]"));
    assert!(
        e.contains("nodes[0] (A): pattern \"stride\" [0,1]: strides must be integers >= 1"),
        "{e}"
    );
    let e = err("dup.json", &FLYVIS.replace("\"name\": \"C\"", "\"name\": \"A\""));
    assert!(e.contains("nodes[1]: cell type \"A\" listed twice"), "{e}");
    let e = err("empty.json", "");
    assert!(e.contains("empty.json: not a flyvis wiring file"), "{e}");
    let full = d.join("full.json.gz");
    gz(&full, &FLYVIS.repeat(50));
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.join("cut.json.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = load_flyvis(&cut, &LoadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("cut.json.gz") && e.contains("gzip"), "{e}");
}

/// The bundled larval mushroom bodies: counts of Eichler et al. 2017 as derived by build.py.
#[test]
fn bundled_larva_mushroom_body_counts() {
    for (name, n, e, s, kc, pn) in [
        ("larva-mb-left", 209, 7425, 25322.0, 101, 58),
        ("larva-mb-right", 213, 7536, 26371.0, 100, 63),
    ] {
        let (c, r) = load_connectome(&Source::guess(Path::new(name), None), &LoadOptions::default()).unwrap();
        assert_eq!((c.n(), c.edges(), c.synapses(), r.self_loops), (n, e, s, 0), "{name}");
        let count = |l: &str| c.labels.iter().filter(|x| *x == l).count();
        assert_eq!(
            (count("KC"), count("PN"), count("MBON"), count("MBIN")),
            (kc, pn, 29, 21),
            "{name}"
        );
        assert_eq!(
            c.signs.iter().filter(|&&x| x == 1).count(),
            kc + pn,
            "{name}: KCs and PNs excitatory"
        );
        assert_eq!(r.unknown_sign, 50, "{name}: MBONs and MBINs unconstrained");
    }
}

/// The bundled flyvis wiring at flyvis's default extent: the counts flyvis's own expansion
/// gives (45,669 neurons, 1,513,231 edges, 12,380 of them self-connections).
#[test]
fn bundled_flyvis_counts_at_extent_15() {
    let keep = LoadOptions {
        self_loops: true,
        ..LoadOptions::default()
    };
    let (c, r) = load_connectome(&Source::guess(Path::new("flyvis"), None), &keep).unwrap();
    assert_eq!((c.n(), c.edges()), (45_669, 1_513_231));
    assert!((c.synapses() - 5_440_440.545_742_574).abs() < 1e-3, "{}", c.synapses());
    assert_eq!(c.labels.iter().filter(|l| *l == "Lawf1").count(), 123);
    assert_eq!(c.labels.iter().filter(|l| *l == "T4a").count(), 721);
    assert_eq!((r.rows, r.mixed_sign, r.self_loops), (605, 4 * 721, 0));
    assert_eq!(r.files[0].path, "builtin:flyvis/fib25-fib19_v2.2.json.gz");
    let (c, r) = load_connectome(&Source::Builtin("flyvis".into()), &LoadOptions::default()).unwrap();
    assert_eq!((c.edges(), r.self_loops), (1_513_231 - 12_380, 12_380));
}
