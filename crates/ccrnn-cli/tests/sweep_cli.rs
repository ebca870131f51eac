//! `ccrnn sweep` and `ccrnn report` end to end on a recipe of a few seconds.

mod common;
use common::*;

#[test]
fn sweep_run_collect_status_run_task_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let list = json(d, &["--json", "sweep", "recipes"]);
    assert_eq!(list.as_array().unwrap().len(), 6);
    let recipe = tiny_recipe(d);
    let r = json(
        d,
        &[
            "--json",
            "sweep",
            "run",
            recipe.to_str().unwrap(),
            "--out",
            "sw",
            "--jobs",
            "2",
        ],
    );
    let tasks = r["tasks"].as_u64().unwrap();
    assert_eq!(r["ran"].as_u64(), Some(tasks));
    assert!(tasks > 10, "{r}");
    let csv = std::fs::read_to_string(d.join("sw/results.csv")).unwrap();
    // Provenance: version, seed, the recipe as run and the file given, with their hashes.
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sw/meta-run.json")).unwrap()).unwrap();
    assert_eq!(meta["inputs"].as_array().unwrap().len(), 2, "{meta}");
    assert!(meta["finished"].is_string() && meta["ccrnn_version"].is_string());
    assert_eq!(csv.lines().count() as u64, tasks, "header + one row per student");
    // Rerunning resumes: nothing left to do, same table.
    let again = json(d, &["--json", "sweep", "run", recipe.to_str().unwrap(), "--out", "sw"]);
    assert_eq!(again["ran"].as_u64(), Some(0));
    assert_eq!(again["already_done"].as_u64(), Some(tasks));
    // A task killed half-way is "started"; run-task redoes it and collect gives the same table.
    std::fs::remove_file(d.join("sw/tasks/n24-m4-r1/result.json")).unwrap();
    let st = json(d, &["--json", "sweep", "status", "sw"]);
    assert_eq!(st["started"].as_u64(), Some(1));
    assert_eq!(st["done"].as_u64(), Some(tasks - 1));
    let list: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sw/tasks.json")).unwrap()).unwrap();
    let index = list
        .as_array()
        .unwrap()
        .iter()
        .position(|t| t["id"] == "n24-m4-r1")
        .unwrap();
    let one = json(d, &["--json", "sweep", "run-task", "sw", "--index", &index.to_string()]);
    assert_eq!(one["outcome"], "ran");
    let one = json(d, &["--json", "sweep", "run-task", "sw", "--index", &index.to_string()]);
    assert_eq!(one["outcome"], "already done");
    ok(d, &["sweep", "collect", "sw"]);
    assert_eq!(std::fs::read_to_string(d.join("sw/results.csv")).unwrap(), csv);
    // The .npz has every column.
    let mut z = ndarray_npy::NpzReader::new(std::fs::File::open(d.join("sw/results.npz")).unwrap()).unwrap();
    let m: ndarray::Array1<f64> = z.by_name("m").unwrap();
    assert_eq!(m.len() as u64, tasks - 1);
    // The report: one section per claim, verdicts for claims 2 and 3, inline plots.
    let rep = json(d, &["--json", "report", "sw"]);
    let claims: Vec<u64> = rep["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["claim"].as_u64().unwrap())
        .collect();
    assert_eq!(claims, [2, 3]);
    // each verdict with what the paper reports for it (SCIENCE.md §8)
    for f in rep["findings"].as_array().unwrap() {
        assert!(f["paper"].as_str().unwrap().starts_with("Fig. 2"), "{f}");
    }
    let md = std::fs::read_to_string(d.join("sw/report/report.md")).unwrap();
    for k in 1..=8 {
        assert!(md.contains(&format!("## Claim {k}")), "report lacks claim {k}");
    }
    assert_eq!(md.matches("*The paper:* Fig. 2").count(), 2, "{md}");
    assert!(d.join("sw/report/sw.png").is_file());
    let html = std::fs::read_to_string(d.join("sw/report/report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Claim 3"));
    report_renders_in_a_browser(&d.join("sw/report/report.html"));
}

/// What a headless browser measures of a page, run at the end of its body: each inline SVG's
/// laid-out size, the area its drawing covers and how many elements it holds, and whether each
/// `<img>` loaded.
const CHECK_SCRIPT: &str = r#"<script>
const out = [];
document.querySelectorAll('figure > svg').forEach((s) => {
  const r = s.getBoundingClientRect();
  const b = s.getBBox();
  out.push({kind: 'svg', width: r.width, height: r.height, drawn: b.width * b.height,
            marks: s.querySelectorAll('path, polyline, line, circle, rect').length});
});
document.querySelectorAll('img').forEach((m) => {
  out.push({kind: 'img', src: m.getAttribute('src'), loaded: m.complete && m.naturalWidth > 0});
});
const pre = document.createElement('pre');
pre.id = 'ccrnn-check';
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"#;

/// Opens a copy of the report (with [`CHECK_SCRIPT`] added) in headless Chromium and checks
/// that every plot is laid out and drawn and no image is broken. Chromium is `$CCRNN_CHROMIUM`
/// or `chromium` on the PATH (Debian's package); without it the check is skipped, saying so,
/// unless CCRNN_REQUIRE_BROWSER is set (as in CI), where it fails.
fn report_renders_in_a_browser(report: &std::path::Path) {
    use std::process::Command;
    let chromium = std::env::var("CCRNN_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    if Command::new(&chromium).arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CCRNN_REQUIRE_BROWSER").is_none(),
            "CCRNN_REQUIRE_BROWSER is set but {chromium} cannot be run"
        );
        eprintln!("SKIPPED the report in a browser: {chromium} not found (apt-get install chromium)");
        return;
    }
    let html = std::fs::read_to_string(report).unwrap();
    let figures = html.matches("<figure>").count();
    assert!(figures > 0, "the report has no plot");
    let page = report.with_file_name("browser-check.html");
    std::fs::write(&page, html.replace("</body>", &format!("{CHECK_SCRIPT}</body>"))).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1100,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"ccrnn-check\">")
        .unwrap_or_else(|| panic!("the check did not run: {}", String::from_utf8_lossy(&out.stderr)));
    let rest = &dom[start + "<pre id=\"ccrnn-check\">".len()..];
    // the text of a <pre> as serialised HTML: only <, > and & are escaped
    let json = rest[..rest.find("</pre>").unwrap()]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let items: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let svgs: Vec<_> = items.iter().filter(|v| v["kind"] == "svg").collect();
    assert_eq!(svgs.len(), figures, "{json}");
    for s in svgs {
        let num = |k: &str| s[k].as_f64().unwrap();
        assert!(
            num("width") > 200.0 && num("height") > 100.0,
            "a plot laid out too small: {s}"
        );
        assert!(num("drawn") > 0.0 && num("marks") >= 10.0, "a plot drawn empty: {s}");
    }
    for i in items.iter().filter(|v| v["kind"] == "img") {
        assert_eq!(i["loaded"], true, "a broken image: {i}");
    }
}

#[test]
fn sweep_bad_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("bad.toml"), "name = \"x\"\n[student]\nms = [1]\nbogus = 3\n").unwrap();
    fails(d, &["sweep", "run", "bad.toml"], &["bad.toml", "bogus"]);
    std::fs::write(
        d.join("neg.toml"),
        "name = \"x\"\n[student]\nconnectome_noise = [-0.1]\n",
    )
    .unwrap();
    fails(d, &["sweep", "run", "neg.toml"], &["student.connectome_noise", "-0.1"]);
    fails(d, &["sweep", "run", "fig9"], &["fig9", "fig2-recordings"]);
    fails(
        d,
        &["sweep", "run", "fig2-recordings", "--scale", "huge"],
        &["huge", "small, paper"],
    );
    fails(d, &["sweep", "status", "."], &["not a sweep directory"]);
    fails(d, &["report", "."], &["no sweep here"]);
    let recipe = tiny_recipe(d);
    ok(d, &["--quiet", "sweep", "run", recipe.to_str().unwrap(), "--out", "sw"]);
    fails(
        d,
        &["sweep", "run-task", "sw", "--index", "999"],
        &["--index 999", "out of range"],
    );
    // Another recipe into the same directory would mix results: refused.
    let other = std::fs::read_to_string(&recipe)
        .unwrap()
        .replace("seed = 0", "seed = 5");
    std::fs::write(d.join("other.toml"), other).unwrap();
    fails(d, &["sweep", "run", "other.toml", "--out", "sw"], &["different recipe"]);
}
