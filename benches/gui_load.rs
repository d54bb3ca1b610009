//! The GUI on a big capture: time until the first rows are on screen and
//! until the capture is fully indexed, the frames drawn meanwhile, memory,
//! and the UI's own work per frame (layout, no GPU) while scrolling.
//!
//!     cargo bench --bench gui_load [-- FILE]
//!
//! Default FILE: /tmp/wirelab-1m.pcap (make it with scripts/gen-big-capture.py).

use std::time::Instant;

use egui_kittest::Harness;
use wirelab::gui::{App, Settings};

fn main() {
    let path = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_else(|| "/tmp/wirelab-1m.pcap".into());
    let rss0 = wirelab::cli::peak_rss_kib().unwrap_or(0);
    // The window first, then the file opened in it, as a student does.
    let mut h = Harness::builder().with_size([1280.0, 860.0]).build_ui_state(
        |ui, app: &mut App| app.ui(ui),
        App::new(None, Settings { welcomed: true, ..Settings::default() }),
    );
    h.run();
    h.state_mut().wait_idle();
    h.state_mut().push_command(wirelab::gui::Command::Open(path.clone().into()));
    let t = Instant::now();
    // Rows of the file asked for (not of the built-in capture shown before).
    let shown = |h: &Harness<'_, App>| {
        h.state().state.doc.loaded.as_ref().filter(|l| l.name == path).map(|l| l.len()).unwrap_or(0)
    };
    let mut first_rows = None;
    // Frames drawn while the file loads, scrolling down the rows read so far.
    let mut loading_frames = Vec::new();
    while h.state().state.doc.load_progress.is_some() || first_rows.is_none() {
        let n = shown(&h);
        if n > 0 {
            let i = (loading_frames.len() * 997) % n;
            h.state_mut().state.view.scroll_to = Some(i);
        }
        let f = Instant::now();
        h.step();
        if n > 0 {
            loading_frames.push(f.elapsed().as_secs_f64() * 1e3);
        } else if shown(&h) > 0 {
            // This frame took the first rows and drew them.
            first_rows = Some((t.elapsed().as_secs_f64() * 1e3, shown(&h)));
        }
        if t.elapsed().as_secs() > 300 {
            panic!("still loading after 300 s");
        }
    }
    let indexed = t.elapsed().as_secs_f64();
    h.state_mut().wait_idle();
    let (first_ms, first_n) = first_rows.unwrap_or((f64::NAN, 0));
    println!("first rows on screen: {first_ms:.1} ms after opening ({first_n} rows then)");
    loading_frames.sort_by(f64::total_cmp);
    if !loading_frames.is_empty() {
        println!(
            "frames drawn while loading (scrolling the rows read so far): {}, median {:.2} ms, max {:.2} ms",
            loading_frames.len(),
            loading_frames[loading_frames.len() / 2],
            loading_frames[loading_frames.len() - 1]
        );
    }
    let app = h.state();
    let rows = app.state.doc.loaded.as_ref().map(|l| l.len()).unwrap_or(0);
    let held = app.state.doc.loaded.as_ref().map(|l| l.heap_bytes()).unwrap_or(0);
    let file = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let anon = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("RssAnon:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    println!("{path}: {rows} frames, {file} bytes");
    println!("fully indexed (every frame dissected, rows ready): {indexed:.2} s");
    println!(
        "held for the rows (rows, info texts, events, copied bytes): {held} bytes = {:.1} bytes per frame; \
         plus the visible-row list, {} bytes per frame",
        held as f64 / rows.max(1) as f64,
        std::mem::size_of::<usize>()
    );
    let checkpoints = app.state.doc.loaded.as_ref().map(|l| l.checkpoint_bytes()).unwrap_or(0);
    println!(
        "anonymous memory after loading: {anon} KiB = {:.0} bytes per frame (RSS before opening: {rss0} KiB), \
         of which the checkpoints (a fixed budget, not per frame) {} KiB",
        anon as f64 * 1024.0 / rows.max(1) as f64,
        checkpoints / 1024
    );
    println!(
        "peak RSS while loading: {} KiB (includes the file's pages, {} KiB, mapped and read)",
        wirelab::cli::peak_rss_kib().unwrap_or(0),
        file / 1024
    );
    // A selected frame of a big capture is dissected again, in context, from
    // the nearest checkpoint: how long that takes (worst: just before one).
    if let Some(l) = app.state.doc.loaded.as_ref() {
        let mut worst: f64 = 0.0;
        let mut all = Vec::new();
        for k in 1..=20usize {
            let i = (rows.max(1) * k / 20).saturating_sub(1);
            let t = Instant::now();
            let ok = match l.detail_job(i) {
                Ok(d) => d.is_some(),
                Err(job) => job.wait().is_some(),
            };
            let ms = t.elapsed().as_secs_f64() * 1e3;
            assert!(ok, "frame {i} has no detail");
            worst = worst.max(ms);
            all.push(ms);
        }
        all.sort_by(f64::total_cmp);
        println!(
            "a selected frame dissected in context from its checkpoint: median {:.1} ms, max {worst:.1} ms",
            all[all.len() / 2]
        );
    }
    h.run();
    // Scroll through the list: jump the selection by 997 rows per frame.
    let mut times = Vec::new();
    for k in 0..300usize {
        let i = (k * 997) % rows.max(1);
        h.state_mut().state.view.scroll_to = Some(i);
        h.state_mut().state.view.selected = Some(i);
        let t = Instant::now();
        h.step();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "UI work per frame while scrolling (layout, no rendering): median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        times[times.len() / 2],
        times[times.len() * 95 / 100],
        times[times.len() - 1]
    );
    // Clicking through: a click on a frame every 10 UI frames, each far
    // from the last (a checkpoint's worth of frames dissected again on a
    // thread); every UI frame timed, and how long the layers took to come.
    let (mut frames, mut waits) = (Vec::new(), Vec::new());
    for k in 0..100usize {
        let i = (k * 7919 + 4000) % rows.max(1);
        h.state_mut().push_command(wirelab::gui::Command::Select(i));
        let clicked = Instant::now();
        let mut came = None;
        for _ in 0..10 {
            let t = Instant::now();
            h.step();
            frames.push(t.elapsed().as_secs_f64() * 1e3);
            if came.is_none() && h.state().state.view.detail.is_some() {
                came = Some(clicked.elapsed().as_secs_f64() * 1e3);
            }
        }
        h.state_mut().wait_idle();
        waits.push(came.unwrap_or_else(|| clicked.elapsed().as_secs_f64() * 1e3));
    }
    frames.sort_by(f64::total_cmp);
    waits.sort_by(f64::total_cmp);
    println!(
        "UI frame while clicking through (100 clicks, 10 frames each): median {:.2} ms, p95 {:.2} ms, max {:.2} ms; \
         the layers shown after median {:.1} ms, max {:.1} ms",
        frames[frames.len() / 2],
        frames[frames.len() * 95 / 100],
        frames[frames.len() - 1],
        waits[waits.len() / 2],
        waits[waits.len() - 1]
    );
}
