//! The GUI, driven through egui_kittest: the real app state, real clicks and
//! typing, and image snapshots rendered headless (wgpu on the CPU).

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use wirelab::gui::{App, Settings};

use crate::support;

fn harness(path: Option<std::path::PathBuf>) -> Harness<'static, App> {
    harness_sized(path, [1280.0, 860.0])
}

fn harness_sized(path: Option<std::path::PathBuf>, size: [f32; 2]) -> Harness<'static, App> {
    let mut app = App::new(path, Settings { welcomed: true, ..Settings::default() });
    app.wait_idle();
    let mut h = Harness::builder().with_size(size).build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    h.run();
    h
}

/// Types into the display filter box.
fn type_filter(h: &mut Harness<'static, App>, text: &str) {
    let filter = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Filter:");
    filter.focus();
    filter.type_text(text);
    settle(h);
}

/// Runs frames until background work is done. While a job runs the window
/// asks for a frame every 30 ms, so a busy machine may need more frames than
/// `run` allows: it waits for the work, then runs again, until the frames
/// stop asking (never a fixed number of frames, never a fixed wait).
fn settle(h: &mut Harness<'static, App>) {
    for _ in 0..50 {
        let first = h.try_run();
        h.state_mut().wait_idle();
        if h.try_run().is_ok() && first.is_ok() {
            return;
        }
    }
    panic!("the window kept asking for frames after its work was done");
}

#[test]
fn opens_on_the_built_in_chat_capture_with_the_first_frame_selected() {
    let h = harness(None);
    let loaded = h.state().state.doc.loaded.as_ref().expect("the built-in capture is loaded");
    assert_eq!(loaded.len(), 405);
    h.get_by_label("405 of 405 frames");
    // It opens on the first Socket.IO event, not on a bare TCP segment.
    let first = h.state().state.view.selected.expect("a frame is selected");
    assert!(loaded.info(first).contains("Socket.IO EVENT"), "{}", loaded.info(first));
    // The layer view shows all seven OSI layers, empty ones with the reason.
    h.get_by_label("L7 Application");
    h.get_by_label("L1 Physical");
}

#[test]
fn clicking_a_socketio_row_shows_its_layers_and_a_field_click_highlights_its_bytes() {
    // Tall enough for every layer to be on screen at once.
    let mut h = harness_sized(None, [1280.0, 1800.0]);
    type_filter(&mut h, "socketio.event");
    h.get_all_by_label_contains("Socket.IO EVENT \"chat message\"").next().unwrap().click();
    h.run();
    let sel = h.state().state.view.selected.expect("a row is selected");
    assert_eq!(h.state().state.doc.loaded.as_ref().unwrap().protocol(sel), "Socket.IO");
    // Each header on its layer: WebSocket on the session layer, Engine.IO on
    // presentation, Socket.IO on application.
    for header in ["application · Socket.IO (", "application · WebSocket (", "application · Engine.IO ("] {
        assert!(h.query_all_by_label_contains(header).next().is_some(), "no layer header {header}");
    }
    // The arguments are JSON, also shown as a tree.
    assert!(h.query_all_by_label_contains("JSON: object").next().is_some(), "no JSON tree for the arguments");
    assert!(h.query_all_by_label_contains("\"text\": \"").next().is_some(), "the tree shows the message's text");
    // Click the event name: its bytes are selected, in the unmasked data.
    h.get_by_label_contains("Event: chat message").click_accesskit();
    h.run();
    let st = &h.state().state;
    let (d, bytes) = st.view.detail.as_ref().unwrap();
    let f = d.field_ref(bytes, st.view.selected_field.expect("a field is selected")).unwrap();
    assert_eq!(f.def().name, "socketio.event");
    assert_eq!(st.view.source, f.span().source, "the bytes view shows the field's data source");
    assert_eq!(f.source_name(), "Unmasked data");
    assert_eq!(f.bytes(), b"chat message");
}

#[test]
fn typing_a_filter_counts_the_matching_frames_and_a_bad_one_explains_itself() {
    let mut h = harness(None);
    type_filter(&mut h, "socketio.event");
    let want = {
        let f = wirelab::filter::Filter::parse("socketio.event").unwrap();
        let path = support::root().join("captures/socketio-node.pcap");
        support::dissect_file(&path).iter().filter(|x| f.matches(&x.d, &x.bytes)).count()
    };
    assert!(want > 5);
    h.get_by_label(&format!("{want} of 405 frames"));
    type_filter(&mut h, " ==");
    h.get_by_label_contains("a value is missing");
}

#[test]
fn the_main_screen_snapshot() {
    let mut h = harness(None);
    type_filter(&mut h, "websocket || socketio");
    h.get_all_by_label_contains("Socket.IO EVENT \"chat message\"").next().unwrap().click();
    h.run();
    h.snapshot("main_screen");
}

#[test]
fn the_conversation_view_shows_the_connection_and_a_bubble_selects_its_frame() {
    // Tall enough for the whole dialogue to be on screen.
    let mut h = harness_sized(None, [1280.0, 1800.0]);
    type_filter(&mut h, "socketio.event");
    h.get_all_by_label_contains("Socket.IO EVENT \"chat message\"").next().unwrap().click();
    h.run();
    h.get_by_label_contains("client on the left, server on the right");
    // The upgrade dance and the events of this connection, in order.
    h.get_by_label("upgrade");
    h.get_all_by_label_contains("ACK / ack=0").next().expect("the ack bubble").click();
    h.run();
    let st = &h.state().state;
    let info = st.doc.loaded.as_ref().unwrap().info(st.view.selected.unwrap());
    assert!(info.contains("ACK"), "{info}");
}

#[test]
fn the_conversation_view_tells_a_whole_engineio_session_and_links_answers() {
    let mut h = harness_sized(None, [1280.0, 4000.0]);
    // A frame of the first polling connection (the Engine.IO handshake GET).
    type_filter(&mut h, "frame.number == 7");
    // (The info column, not a bubble of the conversation shown at start.)
    h.get_all_by_label_contains("transport=polling&t=9c47vqmu HTTP/1.1").next().unwrap().click();
    h.run();
    assert_eq!(h.state().state.view.selected, Some(6), "{:?}", h.state().state.view.visible);
    h.get_by_label_contains("TCP stream 0: client on the left");
    // The session spans the polling connections and the WebSocket.
    h.get_by_label_contains("Whole Engine.IO session").click();
    h.run();
    assert!(h.state().state.panels.conversation.by_session);
    h.get_by_label_contains("All its connections");
    assert!(h.get_all_by_label_contains("· polling").count() >= 3);
    assert!(h.get_all_by_label_contains("· websocket").count() >= 5);
    // An ACK names the EVENT it answers; the link selects that frame.
    let ack_of = |h: &Harness<'static, App>| {
        let st = &h.state().state;
        let loaded = st.doc.loaded.as_ref().unwrap();
        loaded.events.iter().find(|e| e.kind == wirelab::model::MsgKind::SioAck && e.answers.is_some()).map(|e| {
            let q = loaded.events[e.answers.unwrap() as usize];
            (q.frame, q.kind)
        })
    };
    let (event_frame, kind) = ack_of(&h).expect("an answered ACK");
    assert_eq!(kind, wirelab::model::MsgKind::SioEvent);
    h.get_all_by_label(&format!("↩ answers frame {}", event_frame + 1)).next().unwrap().click();
    h.run();
    assert_eq!(h.state().state.view.selected, Some(event_frame));
}

#[test]
fn the_bytes_view_lays_out_only_the_rows_on_screen() {
    // Frame 14: a 70,000-byte message, compressed to a few hundred bytes.
    let mut h = harness(Some(support::root().join("captures/scenario-echo-deflate.pcap")));
    type_filter(&mut h, "frame.number == 14");
    h.get_all_by_label_contains("Binary").next().unwrap().click();
    h.run();
    assert_eq!(h.state().state.view.selected, Some(13));
    h.get_by_label_contains("Decompressed message (70000 bytes)").click();
    h.run();
    // 4,375 rows of 16 bytes: the first is drawn, the last is not laid out
    // until it is scrolled to.
    h.get_by_label("0000  ");
    assert!(h.query_by_label("11160  ").is_none(), "every row of 70,000 bytes was laid out");
    assert!(h.get_all_by_label_contains("  ").count() < 400);
}

/// The real binary in a real window (Xvfb): it paints its first frame, and
/// a screenshot shows it.
#[test]
fn the_binary_opens_a_window_under_xvfb() {
    xvfb_window(&[], "screenshot.png");
}

#[test]
fn the_real_window_replays_a_capture_with_the_ladder_open() {
    let cap = support::root().join("captures/socketio-node.pcap");
    xvfb_window(&["gui".as_ref(), cap.as_os_str(), "--replay".as_ref()], "screenshot-replay.png");
}

#[test]
fn the_real_window_shows_a_saved_comparison_of_tcp_and_udp() {
    let json = support::root().join("captures/compare-loss.json");
    xvfb_window(&["gui".as_ref(), "--comparison".as_ref(), json.as_os_str()], "screenshot-compare.png");
}

/// A wss:// capture whose secrets travel in its pcapng (a Decryption
/// Secrets Block): the window opens it decrypted, with no key log to give.
#[test]
fn the_real_window_shows_a_decrypted_wss_capture() {
    let cap = support::root().join("captures/tls/py-websockets-tls13-injected.pcapng");
    xvfb_window(&["gui".as_ref(), cap.as_os_str()], "screenshot-tls.png");
}

/// The time-sequence graph of the bulk transfer, in a real window: slow
/// start, the losses sent again, the zero window.
#[test]
fn the_real_window_draws_the_time_sequence_graph_of_a_bulk_transfer() {
    let cap = support::root().join("captures/scenario-tcp-bulk.pcap");
    xvfb_window(
        &["gui".as_ref(), cap.as_os_str(), "--graph".as_ref(), "time-sequence".as_ref()],
        "screenshot-tcpgraph.png",
    );
}

/// Runs the real binary under Xvfb with these arguments, checks that it
/// draws and keeps running, and (with WIRELAB_SCREENSHOT) keeps the picture
/// as `assets/<name>`.
fn xvfb_window(args: &[&std::ffi::OsStr], name: &str) {
    // One real window at a time: two X servers and two windows starting
    // together on two busy cores is a test of the machine, not of wirelab.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    use std::process::{Command, Stdio};
    if Command::new("Xvfb").arg("-help").stderr(Stdio::null()).status().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: Xvfb is needed (scripts/test installs it)");
        eprintln!("SKIPPED: Xvfb is not installed");
        return;
    }
    // Xvfb picks a free display itself and writes its number once it is
    // ready (-displayfd): no guessing, no collision with another X server.
    let mut xvfb = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1280x860x24"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    if let Some(out) = xvfb.stdout.take() {
        use std::io::BufRead as _;
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let n: u32 = line.trim().parse().unwrap_or_else(|_| panic!("Xvfb did not say its display: {line:?}"));
    let display = format!(":{n}");
    let home = tempfile::tempdir().unwrap();
    let mut app = support::wirelab_bin()
        .args(args)
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(home.path().join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    let shot = home.path().join("shot.png");
    let mut bright = 0.0;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        if Command::new("import")
            .args(["-display", &display, "-window", "root"])
            .arg(&shot)
            .status()
            .is_ok_and(|s| s.success())
        {
            let out = Command::new("convert").arg(&shot).args(["-format", "%[fx:mean]", "info:"]).output().unwrap();
            bright = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0.0);
            if bright > 0.03 {
                // Let it finish loading and scrolling, then take the picture again.
                std::thread::sleep(std::time::Duration::from_millis(2000));
                let _ = Command::new("import").args(["-display", &display, "-window", "root"]).arg(&shot).status();
                break;
            }
        }
    }
    let still_running = app.try_wait().unwrap().is_none();
    let _ = app.kill();
    let _ = app.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let said = std::fs::read_to_string(home.path().join("stderr.txt")).unwrap_or_default();
    assert!(still_running, "the window closed by itself: {said}");
    assert!(bright > 0.03, "the screen stayed black (mean {bright})");
    if std::env::var_os("WIRELAB_SCREENSHOT").is_some() {
        std::fs::copy(&shot, support::root().join("assets").join(name)).unwrap();
    }
}

#[test]
fn a_live_capture_streams_rows_into_the_list() {
    if !support::may_capture("GUI live capture") {
        return;
    }
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let mut h = harness(None);
    h.state_mut().state.panels.live.filter = format!("udp port {port}");
    h.get_by_label("● Start capture").click();
    h.run();
    assert!(h.state().state.doc.capturing, "{:?}", h.state().state.error);
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..20u8 {
        tx.send_to(&[i; 10], ("127.0.0.1", port)).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.state().state.view.visible.len() < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.step();
    }
    assert_eq!(h.state().state.view.visible.len(), 20);
    let loaded = h.state().state.doc.loaded.as_ref().unwrap();
    assert!((0..loaded.len()).all(|i| loaded.protocol(i) == "UDP"));
    h.get_by_label("■ Stop").click();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.state().state.doc.capturing && std::time::Instant::now() < deadline {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(!h.state().state.doc.capturing);
    assert_eq!(h.state().state.panels.live.stats.map(|s| s.captured), Some(20));
}

#[test]
fn clicking_a_column_header_sorts_and_clicking_again_reverses() {
    let mut h = harness(None);
    h.get_by_label("Length").click();
    h.run();
    let lens = |h: &Harness<'static, App>| -> Vec<u32> {
        let st = &h.state().state;
        st.view.visible.iter().map(|&i| st.doc.loaded.as_ref().unwrap().meta(i).len).collect()
    };
    let v = lens(&h);
    assert!(v.windows(2).all(|w| w[0] <= w[1]), "ascending");
    h.get_by_label_contains("Length ").click();
    h.run();
    let v = lens(&h);
    assert!(v.windows(2).all(|w| w[0] >= w[1]), "descending");
    assert_eq!(v.len(), 405);
}

#[test]
fn save_writes_the_filtered_frames_as_a_pcap_that_tshark_reads() {
    let mut h = harness(None);
    type_filter(&mut h, "socketio");
    let shown = h.state().state.view.visible.len();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("socketio-only.pcap");
    let save = h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Save as:");
    save.focus();
    save.type_text(out.to_str().unwrap());
    h.run();
    h.get_by_label("Save").click();
    h.run();
    assert!(h.state().state.error.is_none(), "{:?}", h.state().state.error);
    h.get_by_label_contains(&format!("saved {shown} frames"));
    let back = support::dissect_file(&out);
    assert_eq!(back.len(), shown);
    let o = support::tshark().arg("-r").arg(&out).args(["-T", "fields", "-e", "frame.number"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), shown);
}

#[test]
fn ctrl_f_goes_to_the_filter_and_the_light_theme_snapshot() {
    let mut h = harness(None);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Filter:").type_text("http");
    settle(&mut h);
    assert_eq!(h.state().state.view.filter_text, "http");
    h.get_by_label("Light theme").click();
    h.run();
    assert!(!h.state().settings.dark);
    h.snapshot("light_theme_http");
}

#[test]
fn the_demo_servers_start_and_stop_from_the_toolbar() {
    use std::io::Write;
    use wirelab::serve::Kind;
    let mut h = harness(None);
    let capture_at = h.get_by_label_contains("Start capture").rect().min.x;
    h.get_by_label("Demo servers ○").click();
    h.run();
    h.get_by_label_contains("echo (port 9001)").click();
    h.run();
    let addr = h.state().demos.listening(Kind::Echo).expect("the echo server runs").addr;
    // Said in the button: the capture buttons stay where the pointer is.
    h.get_by_label("Demo servers ●");
    let moved = (h.get_by_label_contains("Start capture").rect().min.x - capture_at).abs();
    assert!(moved < 6.0, "Start capture moved {moved} px when a server started");
    assert!(h.state().state.notice.as_deref().is_some_and(|n| n.contains("ws://")), "{:?}", h.state().state.notice);
    // A real WebSocket exchange with the server the window started.
    let mut ws = crate::serve::ws_raw(addr);
    let mask = [1u8, 2, 3, 4];
    let mut f = vec![0x81, 0x80 | 2];
    f.extend_from_slice(&mask);
    f.extend(b"hi".iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    ws.write_all(&f).unwrap();
    assert_eq!(crate::serve::read_frame(&mut ws), (1, b"hi".to_vec()));
    // Unticking stops it: the port stops accepting.
    h.get_by_label_contains("echo — ws://").click();
    h.run();
    assert!(h.state().demos.listening(Kind::Echo).is_none());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::net::TcpStream::connect(addr).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the echo server still accepts on {addr}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_scenario_runs_from_the_toolbar_and_its_capture_opens() {
    let mut h = harness(None);
    h.get_by_label("Run scenario").click();
    h.run();
    h.get_by_label("echo-basics").click();
    h.step();
    h.step();
    assert_eq!(h.state().demos.running(), Some("echo-basics"));
    h.state_mut().wait_scenario();
    // The spinner is gone once the scenario is done, so the UI settles again.
    h.run();
    assert_eq!(h.state().state.error, None);
    let report = h.state().demos.report.as_ref().expect("the scenario reported");
    assert!(report.lines.iter().any(|l| l.contains("ping")), "{:?}", report.lines);
    h.get_by_label("Scenario echo-basics");
    if support::may_capture("scenario recording from the GUI") {
        let path = report.recording.clone().expect("recorded as root");
        let loaded = h.state().state.doc.loaded.as_ref().unwrap();
        assert!(loaded.name.contains("wirelab-echo-basics"), "{}", loaded.name);
        type_filter(&mut h, "websocket.opcode == 9");
        assert!(!h.state().state.view.visible.is_empty(), "the recording has the ping");
        let _ = std::fs::remove_file(path);
    } else {
        let why = report.recording.as_ref().expect_err("no capture rights");
        assert!(why.contains("CAP_NET_RAW") || why.contains("permission"), "{why}");
    }
}

/// The window's own echo server over TLS, and a live capture of a real
/// client (Python's websockets) talking to it: the capture follows the
/// servers' key log, so the WebSocket frames show decrypted as they arrive;
/// saved, the capture carries that session's secrets.
#[test]
fn a_live_capture_of_the_tls_demo_server_decrypts_as_it_goes() {
    use wirelab::gui::Command;
    use wirelab::serve::Kind;
    if !support::may_capture("GUI live capture over TLS") {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let mut h = harness(None);
    h.state_mut().demos.tls_dir = data.path().to_path_buf();
    h.state_mut().push_command(Command::SetTls(true));
    h.state_mut().push_command(Command::Server(Kind::Echo, true));
    h.run();
    let port = h.state().demos.listening(Kind::Echo).expect("the echo server runs").addr.port();
    assert!(h.state().demos.listening(Kind::Echo).unwrap().how.starts_with("wss://"));
    h.state_mut().state.panels.live.filter = format!("tcp port {port}");
    h.get_by_label("● Start capture").click();
    h.run();
    assert!(h.state().state.doc.capturing, "{:?}", h.state().state.error);
    let py = format!(
        r#"
import asyncio, ssl, websockets
ctx = ssl.create_default_context(cafile={cert:?})
async def main():
    async with websockets.connect("wss://localhost:{port}/", ssl=ctx, compression=None) as ws:
        for m in ["first over TLS", "second over TLS"]:
            await ws.send(m)
            assert await ws.recv() == m
asyncio.run(main())
"#,
        cert = data.path().join("cert.pem")
    );
    let out = std::process::Command::new("python3").args(["-c", &py]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let websocket = |h: &Harness<'static, App>| {
        let l = h.state().state.doc.loaded.as_ref().unwrap();
        (0..l.len()).filter(|&i| l.protocol(i) == "WebSocket").count()
    };
    // Two messages each way and the close frames: waits for them, not a time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while websocket(&h) < 6 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.step();
    }
    assert!(websocket(&h) >= 6, "{} WebSocket rows", websocket(&h));
    h.get_by_label("■ Stop").click();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.state().state.doc.capturing && std::time::Instant::now() < deadline {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let out = data.path().join("live.pcapng");
    h.state_mut().push_command(Command::Save(out.clone()));
    settle(&mut h);
    h.get_by_label_contains("with the secrets of 1 TLS session inside");
    let saved = support::dissect_file(&out);
    assert!(saved.iter().filter(|f| f.d.field("websocket.payload.text").is_some()).count() >= 4);
    h.state_mut().push_command(Command::Server(Kind::Echo, false));
    h.run();
}

/// A window whose lab progress lives in `dir`.
fn lab_harness(dir: &std::path::Path, settings: Settings) -> Harness<'static, App> {
    let mut app = App::new(None, settings);
    app.state.panels.lab.dir = dir.to_path_buf();
    app.wait_idle();
    let mut h = Harness::builder().with_size([1400.0, 1400.0]).build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    h.run();
    h
}

/// Opens a bundled lab and its bundled capture.
fn open_lab_on_its_capture(h: &mut Harness<'static, App>, id: &str) {
    let lab = wirelab::lab::Lab::bundled().into_iter().position(|l| l.is_ok_and(|l| l.id == id)).unwrap();
    h.state_mut().push_command(wirelab::gui::Command::OpenLab(Some(lab)));
    h.run();
    h.get_by_label("Use the bundled capture").click();
    settle(h);
}

fn welcomed() -> Settings {
    Settings { welcomed: true, ..Settings::default() }
}

#[test]
fn the_first_screen_offers_the_first_lab_and_one_click_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), Settings::default());
    h.get_by_label("Welcome to wirelab");
    h.get_by_label_contains("▶ Start the first lab:").click();
    h.run();
    let app = h.state();
    assert!(app.settings.welcomed, "the welcome is not shown again");
    assert!(app.state.panels.lab.shown);
    assert_eq!(app.state.panels.lab.lab().map(|l| l.id.as_str()), Some("osi-layers"));
    h.get_by_label("Step 1 of 4".replace('4', &app.state.panels.lab.lab().unwrap().steps.len().to_string()).as_str());
    assert!(h.query_by_label("Welcome to wirelab").is_none());
}

#[test]
fn a_lab_is_answered_checked_against_the_packets_and_its_feedback_links_select_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    h.get_by_label("Labs").click();
    h.run();
    h.get_by_label_contains("The TCP handshake: three").click();
    h.run();
    h.get_by_label("Use the bundled capture").click();
    settle(&mut h);
    let reference = support::root().join("captures/scenario-tcp-vs-udp.pcap");
    assert_eq!(h.state().state.doc.path.as_deref(), Some(reference.as_path()));
    h.get_by_label_contains("You are looking at the bundled capture");
    h.get_by_label("Next ▶").click();
    h.run();
    h.get_by_label("Step 2 of 3");

    // A value: the client's initial sequence number, as tshark reads it.
    let syn = "tcp.flags.syn == 1 && tcp.flags.ack == 0";
    let isn = support::tshark_first(&reference, syn, "tcp.seq_raw");
    let syn_frame: usize = support::tshark_first(&reference, syn, "frame.number").parse().unwrap();
    let lab = wirelab::lab::Lab::load("tcp-handshake").unwrap();
    let isn_prompt = lab.questions().find(|q| q.id == "client-isn").unwrap().prompt.clone();
    let isn_box = h.get_by_role_and_label(egui::accesskit::Role::TextInput, &isn_prompt);
    isn_box.focus();
    isn_box.type_text("12345");
    h.run();

    // Pick the packet: a wrong frame first (frame 1).
    let first_row = h.state().state.view.visible[0];
    h.state_mut().push_command(wirelab::gui::Command::Select(first_row));
    h.run();
    h.get_by_label("Use the selected packet (frame 1)").click();
    h.run();
    h.get_by_label("✔ Check my answers").click();
    settle(&mut h);
    assert_eq!(h.get_all_by_label("✘ not yet").count(), 2, "both answers are wrong");

    // Hints before answers: the feedback says where to look, not the
    // answer, and questions not tried get no feedback at all.
    let hint = h
        .get_by_label_contains("look at the field tcp.seq_raw in the TCP layer")
        .accesskit_node()
        .label()
        .unwrap_or_default();
    assert!(!hint.contains(&isn), "the right value is in the feedback: {hint}");
    assert!(h.query_by_label(&format!("frame {syn_frame}, tcp.seq_raw")).is_none(), "the answer's frame is shown");
    assert!(h.query_by_label("no answer yet").is_none());

    // Asked for, the answer comes, and the progress records it.
    h.get_all_by_label("Show me the answer").next().unwrap().click();
    settle(&mut h);
    h.get_by_label("The answer (shown on request):");
    h.get_by_label(&isn);
    assert!(h.state_mut().state.panels.lab.progress("tcp-handshake").revealed.contains("client-isn"));
    assert_eq!(h.get_all_by_label("Show me the answer").count(), 1, "only the other question still offers it");

    // The revealed feedback's link selects the frame and highlights the field.
    h.get_by_label(&format!("frame {syn_frame}, tcp.seq_raw")).click();
    h.run();
    let st = &h.state().state;
    assert_eq!(st.view.selected, Some(syn_frame - 1));
    let (d, _) = st.view.detail.as_ref().unwrap();
    assert_eq!(d.fields[st.view.selected_field.expect("a field is highlighted")].def.name, "tcp.seq_raw");

    // Now the right answers.
    let isn_box = h.get_by_role_and_label(egui::accesskit::Role::TextInput, &isn_prompt);
    isn_box.set_text_value_accesskit(&isn);
    h.run();
    let synack: usize =
        support::tshark_first(&reference, "tcp.flags.syn == 1 && tcp.flags.ack == 1", "frame.number").parse().unwrap();
    h.state_mut().push_command(wirelab::gui::Command::Select(synack - 1));
    h.run();
    h.get_by_label(&format!("Use the selected packet (frame {synack})")).click();
    h.run();
    h.get_by_label("✔ Check my answers").click();
    settle(&mut h);
    let report = h.state().state.panels.lab.report.clone();
    // One answer was asked for first: it is right, and says so.
    assert_eq!(h.query_all_by_label("✔ right").count(), 1, "both answers are right now: {report:?}");
    h.get_by_label("✔ right, after seeing the answer");

    // Progress survives a restart: the step, the answers, the last check.
    drop(h);
    let saved = wirelab::lab::progress::Progress::load(dir.path(), "tcp-handshake").unwrap();
    assert_eq!(saved.step, 1);
    assert_eq!(saved.answers["client-isn"], serde_json::json!(isn));
    assert_eq!(saved.answers["synack-frame"], serde_json::json!(synack));
    assert_eq!(saved.correct(), 2);
    let mut h = lab_harness(dir.path(), welcomed());
    h.get_by_label("Labs").click();
    h.run();
    h.get_by_label_contains("2 answered, 2 right");
    h.get_by_label_contains("The TCP handshake: three").click();
    h.run();
    h.get_by_label("Step 2 of 3");
    let isn_box = h.get_by_role_and_label(egui::accesskit::Role::TextInput, &isn_prompt);
    assert_eq!(isn_box.value().as_deref(), Some(isn.as_str()));
}

#[test]
fn an_exported_submission_is_what_lab_grade_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    h.state_mut().push_command(wirelab::gui::Command::OpenLab(Some(0)));
    h.run();
    h.get_by_label("Use the bundled capture").click();
    settle(&mut h);
    h.get_by_label("Hand in").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Student id:").set_text_value_accesskit("ana-42");
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Save into:")
        .set_text_value_accesskit(&out.path().display().to_string());
    h.run();
    h.get_by_label("Export my submission").click();
    h.run();
    let folder = out.path().join("osi-layers").join("ana-42");
    assert!(folder.join("capture.pcap").is_file(), "{:?}", h.state().state.error);
    assert!(folder.join("answers.json").is_file());
    assert_eq!(std::fs::read_to_string(folder.join("revealed.json")).unwrap().trim(), "[]", "no answer was shown");
    // tshark reads the capture; `lab grade` grades the folder.
    let frames = h.state().state.doc.loaded.as_ref().unwrap().len();
    let out_tshark = support::tshark().arg("-r").arg(folder.join("capture.pcap")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out_tshark.stdout).lines().count(), frames);
    let lab = wirelab::lab::Lab::load("osi-layers").unwrap();
    let rows = wirelab::lab::grade(&lab, &out.path().join("osi-layers"), None, |_, _| {}).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].student, "ana-42");
    assert!(rows[0].error.is_empty(), "{}", rows[0].error);
    assert_eq!(rows[0].score, 0, "nothing was answered");
    assert!(rows[0].max >= 3);
}

#[test]
fn a_glossary_word_highlights_its_fields_in_the_selected_packet_and_works_out_its_derivation() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    // The frame shown at start is a Socket.IO event: it has a socket (address and port).
    assert!(h.state().settings.seen_terms.contains("socket"), "{:?}", h.state().settings.seen_terms);
    h.get_by_label("Glossary").click();
    h.run();
    h.get_by_label_contains("Seen in your packets:");
    h.get_by_label("socket").click();
    h.run();
    assert_eq!(h.state().state.panels.glossary.chosen().map(|t| t.term), Some("socket".to_string()));
    h.get_by_label("tcp.srcport").click();
    h.run();
    let st = &h.state().state;
    let (d, _) = st.view.detail.as_ref().unwrap();
    assert_eq!(d.fields[st.view.selected_field.expect("the link selects the field")].def.name, "tcp.srcport");

    // Unmasking, worked out on a masked client frame.
    type_filter(&mut h, "websocket.mask == 1 && socketio.event");
    let first = h.state().state.view.visible[0];
    h.state_mut().push_command(wirelab::gui::Command::Select(first));
    h.state_mut().push_command(wirelab::gui::Command::ShowTerm("mask".into()));
    h.run();
    h.get_by_label("Worked out from the selected packet:");
    h.get_all_by_label_contains("XOR key[0]").next().expect("the first byte unmasked");
}

/// The encapsulation picture's boxes for the first frame matching a filter:
/// (label, own bytes, carried bytes), outermost first.
fn encapsulation(h: &mut Harness<'static, App>, filter: &str) -> (usize, Vec<(String, usize, usize)>) {
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Filter:").set_text_value_accesskit(filter);
    settle(h);
    assert_eq!(h.state().state.view.filter_text, filter);
    let first = h.state().state.view.visible[0];
    h.state_mut().push_command(wirelab::gui::Command::Select(first));
    h.run();
    let len = h.state().state.doc.loaded.as_ref().unwrap().bytes(first).len();
    let num = |s: &str, after: &str| -> Option<usize> { s.split(after).nth(1)?.split(' ').next()?.parse().ok() };
    let boxes = h
        .get_all_by_label_contains(" B")
        .filter_map(|n| n.accesskit_node().value())
        .filter(|v| v.starts_with('L') && v.chars().nth(1).is_some_and(|c| c.is_ascii_digit()) && v.contains(" · "))
        .map(|v| {
            let own = num(&v, "header · ").or_else(|| num(v.split(" · read from").next().unwrap(), " · ")).unwrap();
            let carried = num(&v, "(carries ").unwrap_or(0);
            (v, own, carried)
        })
        .collect();
    (len, boxes)
}

#[test]
fn the_encapsulation_picture_nests_each_header_around_the_layer_above_with_sizes_that_add_up() {
    let mut h = harness_sized(None, [1280.0, 1800.0]);
    // A server's Socket.IO event: every header in the frame itself.
    let (len, boxes) = encapsulation(&mut h, "websocket.mask == 0 && socketio.event");
    let names: Vec<&str> = boxes.iter().map(|(v, _, _)| v.split(" · ").next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "L2 Ethernet II header",
            "L3 Internet Protocol Version 4 header",
            "L4 Transmission Control Protocol header",
            "L5 WebSocket header",
            "L6 Engine.IO header",
            "L7 Socket.IO"
        ],
        "{boxes:?}"
    );
    // Each box's own bytes plus what it carries is what its parent carries.
    for w in boxes.windows(2) {
        assert_eq!(w[1].1 + w[1].2, w[0].2, "{boxes:?}");
    }
    assert_eq!(boxes[0].1 + boxes[0].2, len, "{boxes:?}");
    assert_eq!((boxes[0].1, boxes[1].1), (14, 20));

    // A client's masked frame: the masking key is header; what it carries
    // was unmasked, and is counted once.
    let (len, boxes) = encapsulation(&mut h, "websocket.mask == 1 && socketio.event");
    assert_eq!(boxes[0].1 + boxes[0].2, len, "{boxes:?}");
    let ws = boxes.iter().find(|b| b.0.starts_with("L5 WebSocket header")).unwrap();
    assert_eq!(ws.1, 2 + 4, "FIN/opcode/length and the masking key: {boxes:?}");
    assert!(boxes.iter().any(|b| b.0.contains("read from Unmasked data")), "{boxes:?}");
}

#[test]
fn an_icmp_error_carries_the_ip_header_it_quotes_inside_it() {
    let mut h = harness_sized(Some(support::root().join("captures/http-over-loopback.pcap")), [1280.0, 1800.0]);
    let (len, boxes) = encapsulation(&mut h, "icmp.type == 3");
    let names: Vec<&str> = boxes.iter().map(|(v, _, _)| v.split(" · ").next().unwrap()).collect();
    // The quoted IP header is inside the ICMP message, not beside the outer one.
    let icmp = names.iter().position(|n| n.contains("ICMP") || n.contains("Control Message")).expect("an ICMP box");
    assert!(names[icmp + 1..].iter().any(|n| n.starts_with("L3 Internet Protocol")), "{names:?}");
    assert_eq!(boxes[0].1 + boxes[0].2, len, "{boxes:?}");
}

#[test]
fn a_saved_answer_of_frame_zero_or_a_damaged_progress_file_breaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("osi-layers.json"), b"{\"step\": [").unwrap();
    std::fs::write(dir.path().join("tcp-handshake.json"), br#"{"step": 1, "answers": {"synack-frame": 0}}"#).unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    h.get_by_label("Labs").click();
    h.run();
    h.run();
    let e = h.state().state.error.clone().unwrap_or_default();
    assert!(e.contains("could not be read") && e.contains(".damaged"), "{e}");
    assert!(dir.path().join("osi-layers.json.damaged").is_file(), "the damaged file is kept");
    h.get_by_label_contains("The TCP handshake: three").click();
    h.run();
    let before = h.state().state.view.selected;
    h.get_by_label("your answer: frame 0").click();
    h.run();
    assert_eq!(h.state().state.view.selected, before, "frame 0 selects nothing");
}

/// Rows the packet list shows, by their Info text.
fn shown_infos(h: &Harness<'static, App>) -> Vec<String> {
    let st = &h.state().state;
    let l = st.doc.loaded.as_ref().unwrap();
    let r = &st.panels.replay;
    st.view.visible.iter().filter(|&&i| !r.on || i < r.cursor).map(|&i| l.info(i)).collect()
}

#[test]
fn a_replay_shows_only_the_past_steps_by_message_and_scrubs_back() {
    let mut h = harness_sized(None, [1280.0, 1000.0]);
    h.get_by_label("Replay").click();
    h.run();
    assert!(h.state().state.panels.replay.on);
    assert_eq!(h.state().state.panels.replay.cursor, 0);
    assert!(h.query_all_by_label_contains("Socket.IO EVENT").next().is_none(), "nothing has happened yet");

    // The handshake of the first connection, one packet at a time: the state follows it.
    h.get_by_label("▶").click();
    h.run();
    h.get_by_label("▶").click();
    h.run();
    assert_eq!(h.state().state.panels.replay.cursor, 2);
    h.get_by_label("TCP stream 0: client SYN-SENT, server SYN-RECEIVED");
    h.get_by_label("▶").click();
    h.run();
    h.get_by_label("TCP stream 0: client ESTABLISHED, server ESTABLISHED");

    // One message forward: the first HTTP request, and nothing after it.
    h.get_by_label("msg ▶").click();
    h.run();
    let st = &h.state().state;
    let cursor = st.panels.replay.cursor;
    let l = st.doc.loaded.as_ref().unwrap();
    let newest = cursor - 1;
    assert!(l.info(newest).starts_with("GET /socket.io/"), "{}", l.info(newest));
    assert_eq!(st.view.selected, Some(newest), "the views follow the newest packet");
    let infos = shown_infos(&h);
    assert_eq!(infos.len(), cursor);
    assert!(!infos.iter().any(|i| i.contains("200 OK")), "the answer has not happened yet: {infos:?}");
    assert!(h.query_all_by_label_contains("200 OK").next().is_none());

    // Back in time with the keyboard: the request is gone again.
    h.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::ArrowLeft);
    h.run();
    assert!(h.state().state.panels.replay.cursor < cursor);
    assert!(!shown_infos(&h).iter().any(|i| i.starts_with("GET /socket.io/")));
    // End shows everything.
    h.key_press(egui::Key::End);
    h.run();
    assert_eq!(shown_infos(&h).len(), 405);
}

#[test]
fn a_replay_can_pause_before_each_message_for_a_prediction() {
    let mut h = harness_sized(None, [1280.0, 1000.0]);
    h.state_mut().push_command(wirelab::gui::Command::Replay(wirelab::gui::ReplayCmd::On(true)));
    h.state_mut().push_command(wirelab::gui::Command::Replay(wirelab::gui::ReplayCmd::Predict(true)));
    h.state_mut().push_command(wirelab::gui::Command::Replay(wirelab::gui::ReplayCmd::Speed(10.0)));
    h.run();
    h.get_by_label("▶ Play").click();
    // Played in real time (10×, gaps capped): wait for the pause, not for a fixed time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while h.state().state.panels.replay.asking.is_none() {
        assert!(std::time::Instant::now() < deadline, "the replay never paused before a message");
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.run();
    let (cursor, asking) = {
        let r = &h.state().state.panels.replay;
        (r.cursor, r.asking.unwrap())
    };
    let frame = h.state().state.doc.loaded.as_ref().unwrap().events[asking].frame;
    assert_eq!(frame, cursor, "paused just before the frame that completes the message");
    assert!(!h.state().state.panels.replay.playing);
    h.get_by_label("Predict: what comes next, and from whom?");
    // Nothing gives the answer away: no kind of message named before the guess.
    let ev = h.state().state.doc.loaded.as_ref().unwrap().events[asking];
    assert!(h.query_by_label_contains(ev.kind.name()).is_none(), "the internal name {} is on screen", ev.kind.name());
    assert!(h.query_by_label_contains("the next message is").is_none());
    // A guess in plain words: the other side than the one that sends it, and the right kind.
    h.get_by_label(if ev.from_client == Some(true) { "the server" } else { "the client" }).click();
    h.run();
    let guess = wirelab::gui::Guess { what: Some(ev.kind.plain()), ..h.state().state.panels.replay.guess.clone() };
    h.state_mut().push_command(wirelab::gui::Command::ReplayGuess(guess));
    h.run();
    h.get_by_label("Check my guess").click();
    h.run();
    let r = &h.state().state.panels.replay;
    // The message happened; the replay went on (and may already wait before the next one).
    assert!(r.cursor > frame, "the message is shown");
    assert!(r.playing || r.asking.is_some_and(|k| k > asking), "the replay goes on");
    assert_eq!((r.score.asked, r.score.sender_right, r.score.what_right), (1, 0, 1));
    h.get_by_label_contains("Right kind, but the other side sent it.");
    h.get_by_label("Predictions: 1 · sender right 0 · kind right 1");
}

/// Opens the ladder tab on the selected packet and waits for it to be drawn.
fn open_ladder(h: &mut Harness<'static, App>) {
    h.get_by_label("Ladder").click();
    // One frame takes the click, the next starts building on a thread.
    h.step();
    h.step();
    h.state_mut().wait_idle();
    h.run();
    assert!(h.state().state.panels.ladder.work.built.is_some(), "the ladder was built");
}

#[test]
fn the_ladder_of_a_socketio_session_draws_its_messages_and_a_click_selects_one() {
    let mut h = harness_sized(None, [1600.0, 1200.0]);
    type_filter(&mut h, "websocket.mask == 1 && socketio.event");
    let first = h.state().state.view.visible[0];
    h.state_mut().push_command(wirelab::gui::Command::Select(first));
    h.state_mut().push_command(wirelab::gui::Command::BySession(true));
    h.run();
    open_ladder(&mut h);
    let (key, n) = {
        let (k, l) = h.state().state.panels.ladder.work.built.clone().unwrap();
        (k, l.arrows.len())
    };
    assert!(key.session.is_some(), "the whole Engine.IO session: {key:?}");
    // Polling, then the upgrade: the open packet and the probe are both on it.
    h.get_all_by_label_contains("arrow: open {").next().expect("the Engine.IO open, over polling");
    h.get_by_label("arrow: ping probe");
    h.get_by_label("arrow: upgrade");
    assert!(n > 10);
    h.snapshot("ladder_socketio_session");
    // A click on an arrow selects the frame that carried it.
    h.get_by_label("arrow: upgrade").click_accesskit();
    h.run();
    let st = &h.state().state;
    let info = st.doc.loaded.as_ref().unwrap().info(st.view.selected.unwrap());
    assert!(info.contains("upgrade"), "{info}");

    // During a replay the ladder shows only the past.
    let upgrade_frame = h.state().state.view.selected.unwrap();
    h.state_mut().push_command(wirelab::gui::Command::Replay(wirelab::gui::ReplayCmd::On(true)));
    h.run();
    h.state_mut().push_command(wirelab::gui::Command::Replay(wirelab::gui::ReplayCmd::Seek(upgrade_frame)));
    // Keep the event's frame selected, so the ladder stays on its session.
    h.state_mut().push_command(wirelab::gui::Command::Select(first));
    h.state_mut().push_command(wirelab::gui::Command::RightTab(wirelab::gui::RightTab::Ladder));
    h.step();
    h.step();
    h.state_mut().wait_idle();
    h.run();
    assert!(h.query_by_label("arrow: ping probe").is_some(), "the probe came before the upgrade");
    assert!(h.query_by_label("arrow: upgrade").is_none(), "the upgrade has not happened yet");
    h.get_by_label_contains("more messages after the cursor");
}

/// "Follow the broadcast": from a frame node B sent its client, the
/// conversation tells the whole broadcast hop by hop (A1's emit, node A's
/// PUBLISH, Redis's deliveries, each node's EVENT); a click on a hop selects
/// its frame, and the ladder then holds only that broadcast.
#[test]
fn a_broadcast_through_redis_is_told_hop_by_hop_and_drawn_as_one_ladder() {
    let mut h = harness_sized(Some(support::root().join("captures/scenario-chat-two-nodes.pcap")), [1600.0, 1200.0]);
    h.state_mut().push_command(wirelab::gui::Command::Select(85));
    h.run();
    assert!(
        h.query_by_label("Follow the broadcast").is_none(),
        "the conversation offers it only once the ladder follows"
    );
    h.state_mut().push_command(wirelab::gui::Command::LadderBroadcast(true));
    h.step();
    h.step();
    h.state_mut().wait_idle();
    h.run();
    h.get_by_label("One broadcast, hop by hop");
    h.get_by_label_contains("frame 83: Redis hands it to another node");
    h.get_by_label_contains("frame 84: Redis hands it back to the node that published it");
    h.get_by_label_contains("frame 80: the sender").click();
    h.run();
    assert_eq!(h.state().state.view.selected, Some(79));
    // The sender's emit keeps the same broadcast (no new ladder).
    h.state_mut().wait_idle();
    h.run();
    h.get_by_label_contains("frame 89: a node");
    open_ladder(&mut h);
    let (key, l) = h.state().state.panels.ladder.work.built.clone().unwrap();
    assert!(key.broadcast.is_some() && l.broadcast, "{key:?}");
    assert_eq!(l.arrows.len(), 7);
    h.get_by_label("arrow: PUBLISH socket.io-request#/# BulkString(193)");
    h.get_by_label_contains("The broadcast of frame");
}

#[test]
fn the_ladder_of_a_websocket_echo() {
    let mut h = harness_sized(Some(support::root().join("captures/websocket-python.pcap")), [1400.0, 1400.0]);
    h.state_mut().push_command(wirelab::gui::Command::Select(7));
    h.state_mut().push_command(wirelab::gui::Command::LadderLevel(wirelab::ladder::Level::Websocket));
    h.run();
    open_ladder(&mut h);
    h.get_all_by_label_contains("arrow: GET /chat").next().expect("the handshake request");
    h.get_all_by_label_contains("arrow: 101 Switching Protocols").next().expect("the 101");
    h.snapshot("ladder_websocket_echo");
}

/// At the segments level every bare ACK is an arrow; a click selects it,
/// and the segment it acknowledges is linked (highlighted, with a bracket).
#[test]
fn the_segments_ladder_links_an_ack_to_what_it_acknowledges() {
    let mut h = harness_sized(Some(support::root().join("captures/websocket-python.pcap")), [1400.0, 1400.0]);
    h.state_mut().push_command(wirelab::gui::Command::Select(7));
    h.state_mut().push_command(wirelab::gui::Command::LadderLevel(wirelab::ladder::Level::Segments));
    h.run();
    open_ladder(&mut h);
    let (_, l) = h.state().state.panels.ladder.work.built.clone().unwrap();
    let (ack, acked) = l
        .arrows
        .iter()
        .find_map(|a| Some((a, &l.arrows[a.acks?])).filter(|(a, b)| a.message.is_none() && b.message.is_some()))
        .expect("a bare ACK of a message's segment");
    h.get_by_label(&format!("arrow: {}", ack.label)).click_accesskit();
    h.run();
    assert_eq!(h.state().state.view.selected, Some(ack.frames[0] as usize - 1));
    assert!(acked.frames.contains(&ack.acks_frame.unwrap()));
    h.snapshot("ladder_segments_ack_linked");
}

/// The teacher's class view: a class of ten graded on a thread, the
/// table and the misconceptions; a click on a student's cell opens their
/// capture and answers in the lab panel, checked as they saw it, without
/// touching the teacher's own progress.
#[test]
fn the_class_view_grades_a_class_and_a_click_opens_a_students_work() {
    let dir = tempfile::tempdir().unwrap();
    let key = crate::class::class_of_ten(dir.path());
    let settings = Settings {
        welcomed: true,
        course_key: std::fs::read_to_string(&key).unwrap().trim().to_string(),
        ..Settings::default()
    };
    let mut h = lab_harness(dir.path(), settings);
    h.state_mut().push_command(wirelab::gui::Command::ShowLabs(true));
    h.run();
    h.get_by_label("Grade a class…").click();
    h.run();
    {
        let class = &mut h.state_mut().state.panels.class;
        class.lab = crate::class::LAB.to_string();
        class.folder_text = dir.path().join("class").display().to_string();
    }
    h.run();
    h.get_by_label("Grade").click();
    settle(&mut h);
    let c = h.state().state.panels.class.class.clone().expect("graded");
    assert_eq!(c.rows.len(), 10);
    h.get_by_label_contains("2 ×");
    h.get_by_label_contains("Feedback they got: Long-polling makes HTTP carry messages both ways");
    h.get_by_label_contains("could not be fully checked");
    // The folder box shows the temporary folder's random name: a fixed one for the pictures.
    h.state_mut().state.panels.class.folder_text = "~/wirelab-submissions/socketio-uses-http".into();
    h.run();
    h.snapshot("class_view");
    // Cai picked a wrong choice: her cell opens her work.
    h.get_by_label("cai uses-http").click();
    settle(&mut h);
    let st = &h.state().state;
    assert_eq!(st.doc.path.as_deref(), Some(dir.path().join("class/cai/capture.pcap").as_path()));
    let lab = &st.panels.lab;
    assert_eq!(lab.lab().map(|l| l.id.as_str()), Some(crate::class::LAB));
    assert_eq!(lab.review.as_ref().map(|r| r.student.as_str()), Some("cai"));
    let report = lab.report.as_ref().expect("checked once her capture was read");
    let q = report.questions.iter().find(|q| q.id == "uses-http").unwrap();
    assert_eq!(q.status, wirelab::lab::Status::Incorrect);
    assert!(report.provenance == "verified", "her own capture, signed with her token");
    assert!(lab.draft("sid").is_some_and(|s| !s.is_empty()), "her answers fill the boxes");
    h.get_by_label("Reviewing cai's submission");
    h.get_by_label("cai's token is in this capture");
    // At the step of the question clicked, with the choice she made.
    h.get_by_label("No, because HTTP is one-directional.");
    assert_eq!(lab.progress_step(crate::class::LAB), Some(1));
    // Back to the teacher's own work: nothing of hers was saved as theirs.
    h.get_by_label("Back to my own work").click_accesskit();
    settle(&mut h);
    let lab = &h.state().state.panels.lab;
    assert!(lab.review.is_none());
    assert_eq!(lab.draft("sid").unwrap_or_default(), "", "the teacher's own (empty) answers are back");
    assert!(!dir.path().join(format!("{}.json", crate::class::LAB)).exists(), "a review saves nothing");
}

/// A packet comment written in the window: Ctrl+M on the selected packet,
/// kept; the row and the layers show it, the filter finds it, and Save
/// writes a pcapng whose comment tshark reads on the same frame.
#[test]
fn a_packet_comment_is_written_shown_found_and_saved_for_wireshark() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness_sized(Some(support::root().join("captures/websocket-python.pcap")), [1400.0, 1000.0]);
    h.state_mut().push_command(wirelab::gui::Command::Select(1));
    settle(&mut h);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::M);
    h.run();
    h.get_by_label("Comment on frame 2");
    h.get_by_role(egui::accesskit::Role::MultilineTextInput).type_text("the server agrees: SYN and ACK");
    h.run();
    h.get_by_label("Keep the comment").click();
    settle(&mut h);
    assert!(h.state().state.panels.comment.is_none(), "the editor closes");
    h.get_all_by_label_contains("✎").next().expect("the row is marked");
    h.snapshot("packet_comment");
    h.get_by_label_contains("Comment: the server agrees: SYN and ACK");
    type_filter(&mut h, "frame.comment contains \"ACK\"");
    settle(&mut h);
    assert_eq!(h.state().state.view.matching, [1]);
    let out = dir.path().join("commented.pcap");
    h.state_mut().push_command(wirelab::gui::Command::Save(out.clone()));
    settle(&mut h);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes[..4], [0x0a, 0x0d, 0x0d, 0x0a], "pcapng, which keeps comments");
    let t = support::tshark().arg("-r").arg(&out).args(["-T", "fields", "-e", "frame.comment"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&t.stdout).trim(), "the server agrees: SYN and ACK");
    // The ladder marks the arrow that carries the commented frame, and no other.
    h.state_mut().push_command(wirelab::gui::Command::SetFilter(String::new()));
    settle(&mut h);
    open_ladder(&mut h);
    // A plain WebSocket has nothing at the default level (Engine.IO and
    // up): the ladder says so and offers the level that shows everything.
    h.get_by_label_contains("Nothing here at the level");
    h.get_by_label("Show everything, TCP too").click();
    settle(&mut h);
    h.state_mut().wait_idle();
    h.run();
    let (_, l) = h.state().state.panels.ladder.work.built.clone().unwrap();
    let carries = l.arrows.iter().find(|a| a.frames.contains(&2)).expect("an arrow carries frame 2");
    h.get_by_label(&format!("arrow: ✎ {}", carries.label));
    assert_eq!(h.get_all_by_label_contains("arrow: ✎").count(), 1);
}

/// A teacher's folder of labs: listed beside the bundled ones once they
/// validate; a file edited into an invalid state says file:line and keeps
/// its last good version; a valid edit is reloaded; the folder is remembered.
#[test]
fn a_teachers_own_labs_are_validated_listed_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let labs = dir.path().join("my-labs");
    std::fs::create_dir(&labs).unwrap();
    let file = labs.join("annotate-test.toml");
    // A lab that uses a word of the teacher's own glossary, beside it.
    let with_word = |lab: &str| lab.replace("minutes = 1", "minutes = 1\nglossary = [\"flux capacitor\"]");
    std::fs::write(&file, with_word(crate::class::ANNOTATE_LAB)).unwrap();
    std::fs::write(
        labs.join("glossary.toml"),
        "[[terms]]\nterm = \"flux capacitor\"\nosi = [4]\ndefinition = \"SYN, SYN-ACK, ACK.\"\nsee = [\"TCP\"]\n",
    )
    .unwrap();
    // A lab that cannot be answered on its capture, and one too big to read.
    std::fs::write(
        labs.join("broken.toml"),
        crate::class::ANNOTATE_LAB.replace("annotate-test", "broken").replace("tcp.flags.syn", "tcp.flags.nope"),
    )
    .unwrap();
    std::fs::write(labs.join("huge.toml"), "#".repeat(300 << 10)).unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    h.state_mut().push_command(wirelab::gui::Command::ShowLabs(true));
    h.state_mut().push_command(wirelab::gui::Command::LabsFolder(labs.display().to_string()));
    // Validating opens each lab's reference capture: on a thread, not in the
    // frame that chose the folder (its verdicts are taken in a later one).
    h.step();
    assert_eq!(h.state().state.panels.lab.own.validating(), 3, "three lab files");
    settle(&mut h);
    assert!(!h.state().state.panels.lab.own.checking());
    assert_eq!(h.state().settings.labs_folder, labs.display().to_string());
    h.get_all_by_label_contains("mark the frame (yours)").next().expect("the teacher's lab is listed");
    let broken = h.state().state.panels.lab.broken.join("\n");
    assert!(broken.contains("broken.toml") && broken.contains("tcp.flags.nope"), "{broken}");
    assert!(broken.contains("huge.toml") && broken.contains("larger than"), "{broken}");
    // The teacher's term is in the glossary (after the bundled ones), and the lab may use it.
    h.state_mut().push_command(wirelab::gui::Command::ShowTerm("flux capacitor".into()));
    settle(&mut h);
    assert_eq!(h.state().state.panels.glossary.chosen().map(|t| t.definition), Some("SYN, SYN-ACK, ACK.".to_string()));
    let own = h.state().state.panels.lab.labs.iter().position(|l| l.id == "annotate-test").unwrap();
    h.state_mut().push_command(wirelab::gui::Command::OpenLab(Some(own)));
    settle(&mut h);
    // Edited into an invalid state while open: the error, and the last good version stays open.
    std::fs::write(&file, with_word(crate::class::ANNOTATE_LAB).replace("minutes = 1", "minutes = \"one\"")).unwrap();
    h.state_mut().state.panels.lab.poll_own(true);
    settle(&mut h);
    let broken = h.state().state.panels.lab.broken.join("\n");
    assert!(broken.contains("annotate-test.toml:") && broken.contains("last good version"), "{broken}");
    assert_eq!(h.state().state.panels.lab.lab().map(|l| l.title.as_str()), Some("mark the frame"));
    // Fixed, with a new title: reloaded, still open.
    std::fs::write(&file, with_word(crate::class::ANNOTATE_LAB).replace("mark the frame", "mark the SYN-ACK")).unwrap();
    h.state_mut().state.panels.lab.poll_own(true);
    settle(&mut h);
    let lab = &h.state().state.panels.lab;
    assert_eq!(lab.lab().map(|l| l.title.as_str()), Some("mark the SYN-ACK"));
    assert!(!lab.broken.join("\n").contains("annotate-test.toml"));
    h.get_by_label("mark the SYN-ACK");
    // No folder: the bundled glossary alone again (the glossary is the whole program's).
    h.state_mut().push_command(wirelab::gui::Command::LabsFolder(String::new()));
    settle(&mut h);
    assert!(wirelab::glossary::Glossary::current().find("flux capacitor").is_none());
}

#[test]
fn a_lab_step_can_start_a_replay_that_asks_for_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    h.state_mut().push_command(wirelab::gui::Command::OpenLab(Some(2)));
    h.state_mut().push_command(wirelab::gui::Command::LabStep(1));
    h.run();
    assert_eq!(h.state().state.panels.lab.lab().map(|l| l.id.as_str()), Some("tcp-handshake"));
    h.get_by_label("▶ Replay it, predicting each message").click();
    h.run();
    let r = &h.state().state.panels.replay;
    assert!(r.on && r.predict && (r.playing || r.asking.is_some()), "replaying with predictions");
}

#[test]
fn a_comparison_runs_from_its_panel_plots_both_transports_and_a_point_selects_its_packets() {
    if !support::may_capture("gui compare") {
        return;
    }
    // Its loss is root's one loss run while it lasts.
    let _one = support::ROOT_LOSS.lock().unwrap_or_else(|e| e.into_inner());
    let mut h = harness_sized(None, [1400.0, 1000.0]);
    h.get_by_label("TCP vs UDP").click();
    h.run();
    h.state_mut().state.panels.compare.cfg.count = 40;
    h.get_by_label("▶ Run").click();
    h.step();
    h.state_mut().wait_idle();
    h.run();
    let st = &h.state().state;
    let r = st.panels.compare.result.as_ref().expect("the comparison finished");
    assert_eq!(r.tcp.delivered, 40, "TCP delivers every message");
    assert_eq!(st.doc.path.as_ref(), r.recording.as_ref(), "the recording is in the packet list");
    // Both sides: their counts above their plots.
    assert_eq!(h.query_all_by_label_contains("sent 40, delivered").count(), 2);
    h.get_all_by_label_contains("sent 40, delivered 40, lost 0").next().expect("TCP lost nothing");
    // A click on message 5's point in the TCP plot selects its first packet.
    let at = st.panels.compare.point_on_screen(wirelab::gui::Side::Tcp, 5).expect("the TCP plot is drawn");
    click_at(&mut h, at);
    let st = &h.state().state;
    let info = st.doc.loaded.as_ref().unwrap().info(st.view.selected.unwrap());
    assert!(info.contains("Demo request seq=5"), "{info}");
}

/// A real pointer click (move, press, release) at a point of the window.
fn click_at<S>(h: &mut Harness<'_, S>, pos: egui::Pos2) {
    let button = |pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    h.event(egui::Event::PointerMoved(pos));
    h.run();
    h.event(button(true));
    h.step();
    h.event(button(false));
    h.run();
}

#[test]
fn a_saved_comparison_shows_both_plots_and_links_each_retransmission_to_its_drop() {
    let json = support::root().join("captures/compare-loss.json");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut h = harness_sized(None, [1400.0, 1000.0]);
    h.state_mut().push_command(wirelab::gui::Command::CompareOpen(json.clone()));
    // One frame starts the reading thread; the window repaints until it
    // ends, so wait for it rather than for the frames to settle.
    h.step();
    h.state_mut().wait_idle();
    h.run();
    let st = &h.state().state;
    assert_eq!(st.doc.path.as_deref(), Some(support::root().join("captures/compare-loss.pcap").as_path()));
    let r = st.panels.compare.result.as_ref().expect("the comparison is shown");
    assert_eq!(u64::from(r.tcp.delivered), saved["tcp"]["delivered"].as_u64().unwrap());
    let first = r.tcp.retransmitted.first().cloned().expect("the saved run retransmitted");
    h.snapshot("compare_panel");
    // The segments sent again, as links: the first one's drop selects that frame.
    h.get_by_label_contains("Sent again (").click();
    h.run();
    let cause = first.cause.expect("a drop behind it");
    h.get_all_by_label(&format!("frame {cause}")).next().expect("a link to the drop").click();
    h.run();
    assert_eq!(h.state().state.view.selected, Some(cause as usize - 1));
    // A message's point: hovering names it, a click selects its packets.
    let at = h.state().state.panels.compare.point_on_screen(wirelab::gui::Side::Udp, 3).expect("the UDP plot");
    click_at(&mut h, at);
    let st = &h.state().state;
    let want = r_frames(&saved["udp"], 3);
    assert_eq!(st.view.selected.map(|s| s as u64 + 1), want.first().copied(), "message 3's first packet");
}

fn r_frames(side: &serde_json::Value, seq: u64) -> Vec<u64> {
    side["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["seq"].as_u64() == Some(seq))
        .map(|m| m["frames"].as_array().unwrap().iter().filter_map(|f| f.as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn the_lab_panel_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(None, welcomed());
    app.state.panels.lab.dir = dir.path().to_path_buf();
    app.wait_idle();
    let mut h = Harness::builder().with_size([1280.0, 860.0]).build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    // (On the built-in capture: a file's path would be in the picture, and
    // differ from one checkout to another.)
    h.state_mut().push_command(wirelab::gui::Command::OpenLab(Some(2)));
    h.run();
    h.get_by_label("Next ▶").click();
    h.run();
    h.snapshot("lab_panel");
}

/// A capture over the size up to which the window keeps every dissection
/// (so frames are found again from checkpoints), made by the benchmark
/// script from the bundled WebSocket capture.
fn big_capture(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("big.pcap");
    support::replayed_capture(5400, &path, "websocket-python.pcap");
    let size = std::fs::metadata(&path).expect("the capture was written").len();
    assert!(size > 16 << 20, "{size} bytes: too small to leave the keep-everything path");
    path
}

#[test]
fn a_big_capture_shows_rows_while_it_loads_and_filter_and_sort_keep_up_with_the_growing_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = big_capture(dir.path());
    // What the filter must find: a plain pass over the whole file.
    let filter = wirelab::filter::Filter::parse("websocket.opcode == 1").unwrap();
    let mut expected = Vec::new();
    let mut k = 0;
    wirelab::session::Session::open(&path).unwrap().scan(|d, bytes| {
        if filter.matches(d, bytes) {
            expected.push(k);
        }
        k += 1;
    });
    assert!(expected.len() > 500, "{} text frames", expected.len());

    let mut app = App::new(None, welcomed());
    app.wait_idle();
    let mut h = Harness::builder().with_size([1280.0, 860.0]).build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    h.run();
    h.state_mut().push_command(wirelab::gui::Command::Open(path.clone()));
    // Rows are in the list as soon as the first part comes (that it comes
    // before the rest is read is `loader::tests::the_first_rows_come_…`;
    // whether this thread sees it before the end depends on scheduling).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        h.step();
        let st = &h.state().state;
        let n = st.doc.loaded.as_ref().map(|l| l.len()).unwrap_or(0);
        if n > 0 && st.view.visible.len() == n {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no rows after 120 s");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let loading = h.state().state.doc.load_progress.is_some();
    h.step();
    if loading && h.state().state.doc.load_progress.is_some() {
        // Still reading: the status bar says how far.
        h.get_by_label_contains("frames so far");
    }
    h.get_all_by_label_contains("WebSocket").next().expect("a row of the file on screen");
    // A filter typed (usually while the rest is still loading) keystroke by
    // keystroke (another filter first, then text that does not parse yet),
    // and a sort.
    for text in ["websocket.opcode == 2", "websocket.opcode ==", "websocket.opcode == 1"] {
        h.state_mut().push_command(wirelab::gui::Command::SetFilter(text.into()));
        h.step();
    }
    h.state_mut().push_command(wirelab::gui::Command::Sort(5));
    h.step();
    h.state_mut().wait_idle();
    h.step();
    let st = &h.state().state;
    let loaded = st.doc.loaded.as_ref().unwrap();
    assert!(st.doc.load_progress.is_none());
    assert_eq!(loaded.len(), k, "every frame is in the list");
    assert_eq!(st.view.matching, expected, "the filter saw every frame, once, in order");
    let mut sorted = expected.clone();
    sorted.sort_by_key(|&i| loaded.meta(i).len);
    assert_eq!(st.view.visible, sorted, "sorted by length, ties in capture order");
    // The rows cost under 100 bytes a frame beside the mapped file.
    let per_frame = (loaded.heap_bytes() + (st.view.matching.capacity() + st.view.visible.capacity()) * 8) / k;
    assert!(per_frame < 100, "{per_frame} bytes a frame");
    // A click on a frame is dissected again from its checkpoint on a thread:
    // the frame that applies the click does not wait for it, and a spinner
    // shows until it comes; then it is the frame the full pass dissected.
    let last = *expected.last().unwrap();
    h.state_mut().push_command(wirelab::gui::Command::Select(last));
    h.step();
    let view = &h.state().state.view;
    let shown = view.detail.as_ref().map(|(d, _)| d.meta.number);
    assert!(view.detail_loading && shown != Some(last as u64 + 1), "the click waited for the dissection");
    // The next frame paints the spinner, unless the thread was done by then.
    h.step();
    if h.state().state.view.detail_loading {
        h.get_by_label(&format!("Dissecting frame {}…", last + 1));
    }
    h.state_mut().wait_idle();
    h.step();
    let view = &h.state().state.view;
    let (d, _) = view.detail.as_ref().expect("the last text frame");
    assert_eq!((view.selected, d.meta.number), (Some(last), last as u64 + 1));
    assert!(d.fields.iter().any(|f| f.def.name == "websocket.opcode"));
}

#[test]
fn hovering_a_byte_explains_it_without_moving_the_rows() {
    let mut h = harness(None);
    let row0 = h.get_by_label("0000  ").rect();
    // Hover a byte of the Socket.IO payload (a long explanation) and one of
    // Ethernet (a short one): the rows stay where they were.
    for label in ["4f ", "45 "] {
        let byte = h.get_all_by_label(label).next().unwrap_or_else(|| panic!("no byte {label}"));
        let before = byte.rect();
        byte.hover();
        h.run();
        h.run();
        assert!(h.state().state.view.hovered_field.is_some(), "hovering {label} names its field");
        assert_eq!(h.get_by_label("0000  ").rect(), row0, "the rows moved when hovering {label}");
        assert_eq!(h.get_all_by_label(label).next().unwrap().rect(), before, "{label} moved");
        // A click selects the field of the byte under the pointer.
        let hovered = h.state().state.view.hovered_field;
        h.get_all_by_label(label).next().unwrap().click();
        h.run();
        assert_eq!(h.state().state.view.selected_field, hovered);
    }
}

#[test]
fn without_capture_rights_a_lab_says_so_once_and_briefly() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    let lab = wirelab::lab::Lab::bundled().into_iter().position(|l| l.is_ok_and(|l| l.id == "tcp-handshake")).unwrap();
    h.state_mut().push_command(wirelab::gui::Command::OpenLab(Some(lab)));
    h.run();
    h.get_by_label("Use the bundled capture").click();
    settle(&mut h);
    // What a scenario that could not be recorded leaves (see run_scenario).
    let why = wirelab::capture::CaptureError::Permission {
        interface: "lo".into(),
        detail: "Operation not permitted".into(),
        exe: "/usr/lib/wirelab/wirelab-capture".into(),
    }
    .to_string();
    assert!(why.lines().count() > 5 && why.contains("sudo"));
    h.state_mut().state.panels.lab.fallback = Some(why);
    h.run();
    h.get_by_label_contains("ask your teacher to add you to the group wirelab");
    assert!(h.query_by_label_contains("sudo").is_none(), "no sudo for a student on the first screen");
    for step in 0..2 {
        // One message, not one per step.
        assert_eq!(h.query_all_by_label_contains("ask your teacher to add you").count(), 1, "step {step}");
        h.get_by_label("Next ▶").click();
        h.run();
    }
    h.get_by_label("Why?").click();
    h.run();
    h.get_by_label_contains("sudo setcap");
}

#[test]
fn a_filter_a_lab_applied_goes_with_the_lab_and_its_capture() {
    use wirelab::gui::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    let lab_select = |h: &mut Harness<'static, App>, f: &str| {
        h.state_mut().push_command(Command::LabAction(wirelab::lab::Action::Select { filter: f.into() }));
        settle(h);
    };
    h.state_mut().push_command(Command::OpenLab(Some(2)));
    settle(&mut h);
    lab_select(&mut h, "tcp.flags.syn == 1");
    assert_eq!(h.state().state.view.filter_applied, "tcp.flags.syn == 1");
    // Another lab: unfiltered.
    h.state_mut().push_command(Command::OpenLab(Some(3)));
    settle(&mut h);
    assert_eq!(h.state().state.view.filter_applied, "");
    // Another capture: unfiltered too.
    lab_select(&mut h, "tcp");
    h.state_mut().push_command(Command::Open(support::root().join("captures/scenario-echo-basics.pcap")));
    settle(&mut h);
    assert_eq!(h.state().state.view.filter_applied, "");
    // A filter the student typed stays for a capture they open, but not
    // for another lab (it hid a new lab's traffic in a walk-through).
    type_filter(&mut h, "websocket");
    h.state_mut().push_command(Command::Open(support::root().join("captures/scenario-echo-basics.pcap")));
    settle(&mut h);
    assert_eq!(h.state().state.view.filter_applied, "websocket");
    h.state_mut().push_command(Command::OpenLab(Some(4)));
    settle(&mut h);
    assert_eq!(h.state().state.view.filter_applied, "");
}

#[test]
fn the_lab_panel_fits_a_1366x768_laptop() {
    lab_panel_fits(1366.0, 768.0);
}

#[test]
fn the_lab_panel_fits_a_1280x800_laptop() {
    lab_panel_fits(1280.0, 800.0);
}

fn lab_panel_fits(w: f32, hgt: f32) {
    {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::new(None, welcomed());
        app.state.panels.lab.dir = dir.path().to_path_buf();
        app.wait_idle();
        let mut h = Harness::builder().with_size([w, hgt]).build_ui_state(|ui, app: &mut App| app.ui(ui), app);
        h.run();
        h.state_mut().push_command(wirelab::gui::Command::OpenLab(Some(2)));
        h.run();
        h.get_by_label("Use the bundled capture").click();
        settle(&mut h);
        h.get_by_label("Next ▶").click();
        h.run();
        let inside = |r: egui::Rect| r.min.x >= 0.0 && r.max.x <= w + 0.5 && r.min.y >= 0.0 && r.max.y <= hgt + 0.5;
        // Every column of the packet list, Info at least 30 characters wide.
        for col in ["No.", "Time", "Source", "Destination", "Protocol", "Length", "Info"] {
            assert!(inside(h.get_by_label(col).rect()), "{w}x{hgt}: the {col} column is off screen");
        }
        let info = h.get_by_label("Info").rect();
        assert!(w - info.min.x >= 30.0 * 7.0, "{w}x{hgt}: Info is {} px wide", w - info.min.x);
        // The step, its questions and the buttons, without scrolling the window.
        for label in ["◀ Back", "Next ▶", "✔ Check my answers"] {
            assert!(inside(h.get_by_label(label).rect()), "{w}x{hgt}: {label} is off screen");
        }
        let lab = wirelab::lab::Lab::load("tcp-handshake").unwrap();
        // The first question at once; the others by scrolling the lab panel,
        // with Back, Next and Check staying in view.
        let first = h.get_by_label(&lab.steps[1].questions[0].prompt).rect();
        assert!(inside(first), "{w}x{hgt}: the first question is off screen ({first:?})");
        for q in &lab.steps[1].questions {
            h.get_by_label(&q.prompt).scroll_to_me();
            h.run();
            let r = h.get_by_label(&q.prompt).rect();
            assert!(inside(r), "{w}x{hgt}: the question {} cannot be brought into view ({r:?})", q.id);
            assert!(inside(h.get_by_label("✔ Check my answers").rect()), "{w}x{hgt}: Check scrolled away");
        }
        // The bytes are not cut off at the right.
        for n in h.get_all_by_label_contains("0000") {
            assert!(n.rect().max.x <= w + 0.5, "{w}x{hgt}: a row of bytes runs off screen");
        }
        // The side panel is folded beside the lab; one click brings it back, and it is remembered.
        assert!(h.query_by_label("Conversation").is_none());
        h.get_by_label("Side panel").click();
        h.run();
        h.run();
        assert!(h.query_all_by_label("Conversation").count() > 0);
        assert!(h.state().settings.side_panel_with_lab);
        h.get_by_label("Side panel").click();
        h.run();
        h.run();
        // The layers and bytes kept their third of the window when the
        // bundled capture replaced the one open (nothing was selected for a
        // frame): they did not shrink to their minimum.
        let layers = h.get_by_label("Layers").rect();
        assert!(layers.min.y <= hgt * 2.0 / 3.0, "{w}x{hgt}: the detail panel shrank (Layers at y = {})", layers.min.y);
        h.snapshot(format!("lab_panel_{w}x{hgt}"));
    }
}

#[test]
fn highlight_finds_the_first_frame_shown_that_has_the_field_and_its_notice_goes_with_the_selection() {
    use wirelab::gui::Command;
    let path = support::root().join("captures/socketio-node.pcap");
    let mut h = harness(Some(path.clone()));
    let first_with = |h: &Harness<'static, App>, name: &str| {
        let st = &h.state().state;
        let f = wirelab::filter::Filter::parse(name).unwrap();
        let mut k = 0;
        let mut found = None;
        wirelab::session::Session::open(&path).unwrap().scan(|d, b| {
            if found.is_none() && f.matches(d, b) && st.view.matching.contains(&k) {
                found = Some(k);
            }
            k += 1;
        });
        found
    };
    // The first frame (a SYN) has no Engine.IO session id.
    h.state_mut().push_command(Command::Select(0));
    settle(&mut h);
    let want = first_with(&h, "engineio.sid").expect("the chat capture has a sid");
    assert!(want > 0);
    h.state_mut().push_command(Command::HighlightField("engineio.sid".into()));
    settle(&mut h);
    let view = &h.state().state.view;
    assert_eq!(view.selected, Some(want), "the first frame that has it is selected");
    let (d, _) = view.detail.as_ref().unwrap();
    assert_eq!(d.fields[view.selected_field.expect("a field is highlighted")].def.name, "engineio.sid");
    assert!(view.frame_notice.is_none());
    // No frame shown has it: said in the status bar, and gone with the next selection.
    type_filter(&mut h, "tcp.flags.syn == 1");
    let syn = h.state().state.view.visible[0];
    h.state_mut().push_command(Command::Select(syn));
    h.state_mut().push_command(Command::HighlightField("engineio.sid".into()));
    settle(&mut h);
    assert_eq!(h.state().state.view.selected, Some(syn));
    h.get_by_label_contains("no frame shown has engineio.sid");
    let other = h.state().state.view.visible[1];
    h.state_mut().push_command(Command::Select(other));
    settle(&mut h);
    assert!(h.query_by_label_contains("no frame shown has").is_none(), "the notice outlived its selection");
}

#[test]
fn a_replay_shows_the_frame_at_its_cursor_whatever_was_clicked_before() {
    use wirelab::gui::{Command, ReplayCmd};
    let mut h = harness(None);
    h.state_mut().push_command(Command::Select(20));
    settle(&mut h);
    for c in [ReplayCmd::On(true), ReplayCmd::Seek(5)] {
        h.state_mut().push_command(Command::Replay(c));
    }
    settle(&mut h);
    let view = &h.state().state.view;
    assert_eq!(view.selected, Some(4));
    assert_eq!(view.detail.as_ref().map(|(d, _)| d.meta.number), Some(5), "the layers show frame 5");
    // Back to the start: nothing has happened, nothing is shown.
    h.state_mut().push_command(Command::Replay(ReplayCmd::Seek(0)));
    settle(&mut h);
    let view = &h.state().state.view;
    assert!(view.selected.is_none() && view.detail.is_none(), "frame {:?} has not happened yet", view.selected);
    // A lab's "Replay it" starts over from the first frame, whatever was selected.
    h.state_mut().push_command(Command::Replay(ReplayCmd::On(false)));
    h.state_mut().push_command(Command::Select(30));
    h.state_mut().push_command(Command::LabAction(wirelab::lab::Action::Replay { predict: false }));
    h.step();
    let view = &h.state().state.view;
    assert!(view.selected.is_none_or(|i| i < h.state().state.panels.replay.cursor), "{:?}", view.selected);
}

#[test]
fn verdicts_checked_on_one_capture_are_marked_as_its_own_on_another() {
    use wirelab::gui::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    open_lab_on_its_capture(&mut h, "tcp-handshake");
    h.get_by_label("Next ▶").click();
    h.run();
    h.state_mut().push_command(Command::LabAnswer("client-isn".into(), serde_json::json!("12345")));
    h.state_mut().push_command(Command::LabCheck);
    settle(&mut h);
    h.get_by_label("✘ not yet");
    assert!(h.query_by_label_contains("not the capture open now").is_none());
    // Another capture: the answer and the verdict stay, as the first capture's.
    h.state_mut().push_command(Command::Open(support::root().join("captures/scenario-echo-basics.pcap")));
    settle(&mut h);
    h.get_by_label("✘ not yet");
    h.get_by_label_contains("on scenario-tcp-vs-udp.pcap, not the capture open now");
    h.get_by_label("(on scenario-tcp-vs-udp.pcap)");
    let isn = h.state_mut().state.panels.lab.progress("tcp-handshake").answers.get("client-isn").cloned();
    assert_eq!(isn, Some(serde_json::json!("12345")), "the answer is kept");
    // Checked again: the verdicts are this capture's.
    h.state_mut().push_command(Command::LabCheck);
    settle(&mut h);
    assert!(h.query_by_label_contains("not the capture open now").is_none());
    assert!(h.query_by_label_contains("(on scenario-tcp-vs-udp.pcap)").is_none());
}

#[test]
fn the_layer_view_the_glossary_and_the_osi_lab_place_each_protocol_on_one_osi_layer() {
    let mut h = harness_sized(None, [1280.0, 1000.0]);
    type_filter(&mut h, "websocket && socketio.event");
    let first = h.state().state.view.visible[0];
    h.state_mut().push_command(wirelab::gui::Command::Select(first));
    settle(&mut h);
    let g = wirelab::glossary::Glossary::bundled();
    let osi_text = &g.find("OSI model").unwrap().definition;
    let lab = std::fs::read_to_string(support::root().join("labs/osi-layers.toml")).unwrap();
    let (d, _) = h.state().state.view.detail.clone().unwrap();
    for l in d.layers.iter().filter(|l| l.proto.osi >= 5) {
        let p = l.proto;
        // The layer view and the encapsulation picture, the explanation, the protocol's own term.
        h.get_all_by_label_contains(&format!("L{} {}", p.osi, p.label)).next().unwrap_or_else(|| panic!("{}", p.label));
        if p.osi < 7 {
            assert!(osi_text.contains(&format!("{} on {}", p.short, p.osi)), "{}: {osi_text}", p.short);
            assert!(lab.contains(&format!("{} on {}", p.short, p.osi)), "the osi-layers lab on {}", p.short);
        }
        assert_eq!(g.find(p.short).map(|t| t.osi.clone()), Some(vec![p.osi]), "{}", p.short);
    }
    // The lab no longer says OSI 5 and 6 are empty whatever the frame.
    assert!(!lab.contains("have no header of their own in TCP/IP"));
    // The explanation is one click from the layer view.
    h.get_by_label("Why these layers?").click();
    h.run();
    assert_eq!(h.state().state.panels.glossary.chosen().map(|t| t.term), Some("OSI model".to_string()));
}

#[test]
fn during_a_replay_the_ladder_shows_the_connection_of_the_newest_message_and_fits_the_panel() {
    use wirelab::gui::{Command, ReplayCmd};
    let mut h = harness_sized(None, [1280.0, 800.0]);
    let first = h.state().state.view.visible[0];
    h.state_mut().push_command(Command::Select(first));
    h.run();
    open_ladder(&mut h);
    // The moment a second connection's SYN is the newest frame: the last
    // message above TCP is still on another connection.
    let (cursor, expected, syn_stream) = {
        let l = h.state().state.doc.loaded.as_ref().unwrap();
        let opens: Vec<_> = l.events.iter().filter(|e| e.kind == wirelab::model::MsgKind::TcpOpen).collect();
        let (cursor, syn_stream) = opens
            .iter()
            .skip(1)
            .find_map(|o| {
                let syn = l.events.iter().filter(|e| e.stream == o.stream).map(|e| e.frame).min()?;
                // The SYN is the first frame of its stream: the cursor just past it.
                let c = (0..=syn).rev().find(|&i| l.info(i).contains("[SYN]")).map(|i| i + 1)?;
                l.events.iter().any(|e| e.frame < c && !e.kind.is_tcp()).then_some((c, o.stream))
            })
            .expect("a connection opened after a message");
        let newest = l.events.iter().filter(|e| e.frame < cursor && !e.kind.is_tcp()).max_by_key(|e| e.frame).unwrap();
        (cursor, newest.stream, syn_stream)
    };
    assert_ne!(expected, syn_stream);
    for c in [ReplayCmd::On(true), ReplayCmd::Seek(cursor)] {
        h.state_mut().push_command(Command::Replay(c));
    }
    h.run();
    // (A replay opens the "At the cursor" tab: back to the ladder.)
    open_ladder(&mut h);
    let st = &h.state().state;
    let (key, ladder) = st.panels.ladder.work.built.clone().expect("a ladder");
    assert_eq!(key.stream.or(key.session.as_ref().map(|_| expected)), Some(expected), "{key:?}");
    assert!(!ladder.arrows.is_empty());
    // Its arrows are drawn, and the lanes fit the panel: nothing past the window's right edge.
    let arrows: Vec<_> = h.get_all_by_label_contains("arrow: ").collect();
    assert!(!arrows.is_empty(), "the newest message's arrows are shown");
    for a in &arrows {
        assert!(a.rect().max.x <= 1280.5, "an arrow runs off the panel: {:?}", a.rect());
    }
}

#[test]
fn the_comparison_plots_share_their_scales_show_every_point_and_say_why_tcp_climbs_in_stairs() {
    let json = support::root().join("captures/compare-loss.json");
    let mut h = harness_sized(None, [1400.0, 1000.0]);
    h.state_mut().push_command(wirelab::gui::Command::CompareOpen(json));
    h.step();
    h.state_mut().wait_idle();
    h.run();
    let v = &h.state().state.panels.compare;
    let r = v.result.clone().unwrap();
    let bounds = |t: &Option<egui_plot::PlotTransform>| {
        let b = t.as_ref().expect("a plot").bounds();
        (b.min(), b.max())
    };
    let (tcp, udp) = (bounds(&v.plots[0]), bounds(&v.plots[1]));
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(1.0);
    assert!(close(tcp.0[0], udp.0[0]) && close(tcp.1[0], udp.1[0]), "one time axis: {tcp:?} {udp:?}");
    assert!(close(tcp.1[1], udp.1[1]), "one message axis: {tcp:?} {udp:?}");
    // Every point (delivered, or lost when sent) is inside its plot.
    for (side, t) in [(&r.tcp, tcp), (&r.udp, udp)] {
        let t0 = side.messages.iter().filter_map(|m| m.sent).reduce(f64::min).unwrap();
        for m in side.messages.iter().filter(|m| m.sent.is_some()) {
            let x = (m.delivered.or(m.sent).unwrap() - t0) * 1000.0;
            assert!(x >= t.0[0] && x <= t.1[0], "message {} at {x} ms is off the axis {t:?}", m.seq);
        }
    }
    // The histograms cover both transports' whole range: the slowest round trip is on the axis.
    let (ht, hu) = (bounds(&v.histograms[0]), bounds(&v.histograms[1]));
    assert!(close(ht.1[0], hu.1[0]), "one round-trip axis: {ht:?} {hu:?}");
    let slowest = [&r.tcp, &r.udp]
        .iter()
        .flat_map(|s| s.messages.iter().filter_map(|m| Some((m.delivered? - m.sent?) * 1000.0)))
        .fold(0.0, f64::max);
    assert!(slowest <= ht.1[0] && r.udp.latency_ms.p99 <= hu.1[0], "{slowest} ms is past {ht:?}");
    // The lost messages have their own entry in the legend; the injected line says what happened.
    h.get_by_label_contains("lost (when sent)");
    h.get_by_label_contains("Injected: the kernel's firewall dropped");
    // The stairs, explained, with a link to the segment sent again.
    h.get_by_label_contains("The stairs: TCP hands replies to the program in order");
    let again: Vec<u64> = r.tcp.retransmitted.iter().map(|x| x.frame).collect();
    let f = again.iter().find(|f| h.query_by_label(&format!("frame {f}")).is_some()).expect("a link to one sent again");
    h.get_by_label(&format!("frame {f}")).click();
    h.run();
    let sel = h.state().state.view.selected.map(|i| i as u64 + 1);
    assert!(sel.is_some_and(|f| again.contains(&f)), "{sel:?} is not sent again");
    // No reply came back over UDP: its histogram says why instead of drawing nothing.
    for m in &mut h.state_mut().state.panels.compare.result.as_mut().unwrap().udp.messages {
        m.delivered = None;
    }
    h.run();
    h.get_by_label("No round trips to show: no reply came back over UDP.");
    // Without the rights for firewall rules, the line says TCP was not impaired.
    let mut inj = r.injected.clone();
    (inj.kernel_loss, inj.why_not, inj.tcp_dropped, inj.udp_dropped) = (false, Some("no rights".into()), 0, 10);
    let text = inj.text();
    assert!(text.starts_with("TCP was not impaired") && text.contains("dropped 10 datagrams itself"), "{text}");
}

/// Seen in the walk-through as a student: a changed answer kept the old
/// "✘ not yet"; an answer right after "Show me the answer" looked earned;
/// a filter typed for the last lab hid the new lab's traffic; "Look at:
/// frame N" selected a frame the list did not show.
#[test]
fn a_changed_answer_loses_its_old_verdict_and_a_revealed_one_is_marked() {
    use wirelab::gui::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    open_lab_on_its_capture(&mut h, "tcp-handshake");
    h.get_by_label("Next ▶").click();
    h.run();
    h.state_mut().push_command(Command::LabAnswer("client-isn".into(), serde_json::json!("12345")));
    h.state_mut().push_command(Command::LabCheck);
    settle(&mut h);
    h.get_by_label("✘ not yet");
    h.state_mut().push_command(Command::LabAnswer("client-isn".into(), serde_json::json!("123456")));
    h.run();
    assert!(h.query_by_label("✘ not yet").is_none(), "the verdict was about the answer before");
    // Wrong, then the answer asked for, then typed: right, but marked.
    h.state_mut().push_command(Command::LabCheck);
    settle(&mut h);
    h.get_by_label("Show me the answer").click();
    settle(&mut h);
    let key = wirelab::lab::answer_key(
        &wirelab::lab::Lab::load("tcp-handshake").unwrap(),
        &wirelab::session::Session::open(&support::root().join("captures/scenario-tcp-vs-udp.pcap")).unwrap(),
    )
    .0;
    h.state_mut().push_command(Command::LabAnswer("client-isn".into(), key["client-isn"].clone()));
    h.state_mut().push_command(Command::LabCheck);
    settle(&mut h);
    h.get_by_label("✔ right, after seeing the answer");
}

#[test]
fn a_new_lab_starts_unfiltered_and_a_link_to_a_hidden_frame_clears_the_filter() {
    use wirelab::gui::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    type_filter(&mut h, "tcp.flags.syn == 1");
    assert!(h.state().state.view.matching.len() < h.state().state.doc.loaded.as_ref().unwrap().len());
    h.state_mut().push_command(Command::OpenLab(Some(1)));
    settle(&mut h);
    assert!(h.state().state.view.filter_text.is_empty(), "a new lab starts with every frame shown");
    let all = h.state().state.doc.loaded.as_ref().unwrap().len();
    assert_eq!(h.state().state.view.matching.len(), all);
    type_filter(&mut h, "tcp.flags.syn == 1");
    let hidden = (0..all).find(|i| !h.state().state.view.matching.contains(i)).unwrap();
    h.state_mut().push_command(Command::Select(hidden));
    settle(&mut h);
    assert!(h.state().state.view.filter_text.is_empty());
    assert!(h.state().state.view.matching.contains(&hidden) && h.state().state.view.selected == Some(hidden));
    h.get_by_label_contains(&format!("filter cleared to show frame {}", hidden + 1));
}

/// A wss:// capture without its keys shows TLS records only; its key log,
/// opened like a capture (dialog, drop or path), decrypts it, and is
/// opened again with the capture next time.
#[test]
fn a_key_log_opened_on_a_tls_capture_decrypts_it_and_is_remembered() {
    use wirelab::gui::Command;
    let capture = support::root().join("captures/tls/py-websockets-tls13.pcap");
    let keys = support::root().join("captures/tls/py-websockets-tls13.keys");
    let mut h = harness(None);
    let protocols = |h: &Harness<'static, App>| {
        let l = h.state().state.doc.loaded.as_ref().unwrap();
        (0..l.len()).map(|i| l.protocol(i).to_string()).collect::<Vec<_>>()
    };
    h.state_mut().push_command(Command::Open(capture.clone()));
    settle(&mut h);
    let p = protocols(&h);
    assert!(p.iter().any(|p| p == "TLSv1.3") && !p.iter().any(|p| p == "WebSocket"), "{p:?}");
    h.state_mut().push_command(Command::Open(keys.clone()));
    settle(&mut h);
    assert_eq!(h.state().state.doc.path.as_deref(), Some(capture.as_path()));
    assert_eq!(protocols(&h).iter().filter(|p| *p == "WebSocket").count(), 10);
    h.get_by_label_contains("TLS decrypted with py-websockets-tls13.keys");
    assert_eq!(h.state().settings.key_logs.get(&capture.display().to_string()), Some(&keys));
    // Another capture, then this one again: decrypted without asking.
    h.state_mut().push_command(Command::Open(support::root().join("captures/scenario-echo-basics.pcap")));
    settle(&mut h);
    h.state_mut().push_command(Command::Open(capture.clone()));
    settle(&mut h);
    assert_eq!(protocols(&h).iter().filter(|p| *p == "WebSocket").count(), 10);
    // Saved, it carries its secrets (a pcapng Decryption Secrets Block) and
    // decrypts wherever it is opened: here, in wirelab and in tshark with no
    // key log given.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("with-keys.pcap");
    h.state_mut().push_command(Command::Save(out.clone()));
    settle(&mut h);
    h.get_by_label_contains("as pcapng, with the secrets of 1 TLS session inside");
    let saved = wirelab::file::Capture::open(&out).unwrap();
    assert_eq!(saved.tls_keys.as_ref().map(|k| k.len()), Some(1));
    let back = support::dissect_capture(&saved);
    assert_eq!(back.iter().filter(|f| f.d.field("websocket.opcode").is_some()).count(), 10);
    let o = support::tshark()
        .arg("-r")
        .arg(&out)
        .args(["-Y", "websocket", "-T", "fields", "-e", "frame.number"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 10, "tshark reads the secrets it was given");
    // Frames without the session's ClientHello take none of its secrets.
    type_filter(&mut h, "tcp.flags.syn == 1");
    let out = dir.path().join("no-hello.pcap");
    h.state_mut().push_command(Command::Save(out.clone()));
    settle(&mut h);
    assert!(wirelab::file::Capture::open(&out).unwrap().tls_keys.is_none());
    assert_ne!(std::fs::read(&out).unwrap()[..4], [0x0a, 0x0d, 0x0d, 0x0a], "a plain pcap, not pcapng");
}

/// A field question's revealed answer is the field's name, not JSON (seen
/// in the second walk-through: `{"field":"ip.proto","frames":[4]}`).
#[test]
fn a_revealed_field_answer_is_shown_as_the_field() {
    use wirelab::gui::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    open_lab_on_its_capture(&mut h, "osi-layers");
    h.get_by_label("Next ▶").click();
    h.run();
    h.state_mut()
        .push_command(Command::LabAnswer("ip-says-tcp".into(), serde_json::json!({"frame": 4, "field": "ip.ttl"})));
    h.state_mut().push_command(Command::LabCheck);
    settle(&mut h);
    h.get_by_label("Show me the answer").click();
    settle(&mut h);
    h.get_by_label("The answer (shown on request):");
    h.get_by_label("ip.proto");
    assert!(h.query_by_label_contains("\"field\"").is_none());
}

/// The lab tls-and-wss in the window, on its bundled capture (which
/// carries its keys): a hint's filter written in backticks reads as code,
/// not as backticks, and the required answers check right.
#[test]
fn the_tls_lab_reads_its_bundled_capture_decrypted_and_shows_code_without_backticks() {
    use wirelab::gui::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    open_lab_on_its_capture(&mut h, "tls-and-wss");
    let loaded = h.state().state.doc.loaded.as_ref().unwrap();
    assert!((0..loaded.len()).any(|i| loaded.protocol(i) == "Socket.IO"), "decrypted from its own secrets");
    h.get_by_label("Next ▶").click();
    h.run();
    // The step's first question is sni.
    h.query_all_by_label("Hint (1 of 2)").next().unwrap().click();
    settle(&mut h);
    h.get_by_label_contains("Filter with tls.handshake.type == 1 and open");
    // (As written: "Filter with `tls.handshake.type == 1` and open…".)
    for (id, v) in
        [("sni", serde_json::json!("localhost")), ("cipher-suite", serde_json::json!("TLS_AES_256_GCM_SHA384"))]
    {
        h.state_mut().push_command(Command::LabAnswer(id.into(), v));
    }
    h.state_mut().push_command(Command::LabCheck);
    settle(&mut h);
    assert_eq!(h.query_all_by_label("✔ right").count(), 2);
}

/// A selected frame the filter hides is not offered as an answer (seen in
/// the walk-through: "Use the selected packet (frame 1)" under a filter
/// that showed no frame 1).
#[test]
fn a_frame_the_filter_hides_is_not_offered_as_an_answer() {
    use wirelab::gui::Command;
    let dir = tempfile::tempdir().unwrap();
    let mut h = lab_harness(dir.path(), welcomed());
    open_lab_on_its_capture(&mut h, "tls-and-wss");
    for _ in 0..4 {
        h.get_by_label("Next ▶").click();
        h.run();
    }
    settle(&mut h);
    type_filter(&mut h, "");
    h.state_mut().push_command(Command::Select(0));
    settle(&mut h);
    h.get_by_label("Use the selected packet (frame 1)");
    type_filter(&mut h, "websocket");
    assert_eq!(h.state().state.view.selected, Some(0), "the selection stays");
    assert!(h.query_by_label("Use the selected packet (frame 1)").is_none());
    h.get_by_label("Select a packet first");
}

/// The TCP graphs of a connection with random loss: G opens them on the
/// selected connection, in the direction that carries data; a click on a
/// point selects its frame; each graph draws; a replay draws only the past.
#[test]
fn the_tcp_graphs_show_the_selected_connection_and_a_click_on_a_point_selects_its_frame() {
    use wirelab::gui::{Command, ReplayCmd, TcpGraphKind};
    let path = support::root().join("captures/tcp-random-loss-veth.pcap");
    let mut h = harness_sized(Some(path.clone()), [1400.0, 1000.0]);
    // A data segment that was sent again: its connection's graph has losses.
    let frame: usize =
        support::tshark_first(&path, "tcp.analysis.retransmission && tcp.len > 0", "frame.number").parse().unwrap();
    h.state_mut().push_command(Command::Select(frame - 1));
    settle(&mut h);
    h.key_press(egui::Key::G);
    settle(&mut h);
    let v = &h.state().state.panels.tcpgraph;
    assert!(v.shown, "G opens the graphs");
    let (key, g) = v.work.built.clone().expect("the graph is built");
    assert!(g.segments.iter().any(|s| s.frame == frame as u64 && s.retransmitted), "frame {frame} is a resent bar");
    assert_eq!(
        key.ports.0 as u64,
        support::tshark_first(&path, &format!("frame.number == {frame}"), "tcp.srcport").parse::<u64>().unwrap()
    );
    h.snapshot("tcp_graphs_time_sequence");
    // A click on another segment's bar selects that segment (one halfway
    // through the connection, away from the legend in the corner).
    let data: Vec<u64> = g.segments.iter().filter(|s| s.len > 0 && s.frame != frame as u64).map(|s| s.frame).collect();
    let other = data[data.len() / 2];
    let at = h.state().state.panels.tcpgraph.point_on_screen(other).expect("drawn");
    click_at(&mut h, at);
    let picked = h.state().state.view.selected.map(|i| i as u64 + 1).expect("a frame is selected");
    assert_ne!(picked, frame as u64, "the click changed the selection");
    let p = h.state().state.panels.tcpgraph.point_on_screen(picked).expect("the selected frame is a point");
    assert!(p.distance(at) <= 1.0, "frame {picked} is drawn at {p:?}, the click was at {at:?}");
    // Every graph draws points of this connection.
    for k in [TcpGraphKind::Throughput, TcpGraphKind::RoundTrip, TcpGraphKind::Window] {
        h.state_mut().push_command(Command::TcpGraphKind(k));
        settle(&mut h);
        let v = &h.state().state.panels.tcpgraph;
        assert!(!v.drawn.is_empty(), "{k:?} draws nothing");
        assert!(
            v.drawn
                .iter()
                .all(|(f, _)| g.segments.iter().any(|s| s.frame == *f) || g.acks.iter().any(|a| a.frame == *f))
        );
    }
    // During a replay only what happened before the cursor is drawn.
    let cursor = frame;
    for c in [ReplayCmd::On(true), ReplayCmd::Seek(cursor)] {
        h.state_mut().push_command(Command::Replay(c));
        settle(&mut h);
    }
    h.state_mut().push_command(Command::Select(frame - 1));
    h.state_mut().push_command(Command::TcpGraphKind(TcpGraphKind::TimeSequence));
    settle(&mut h);
    let st = &h.state().state;
    let shown: Vec<u64> = st.panels.tcpgraph.drawn.iter().map(|(f, _)| *f).collect();
    let last = st.panels.replay.cursor as u64;
    assert!(!shown.is_empty() && shown.iter().all(|f| *f <= last), "frames after the cursor {last} are drawn");
    assert!(g.segments.iter().any(|s| s.frame > last), "the whole connection goes past the cursor");
    // A lab's `graph` action opens the window at the graph it names.
    h.state_mut().push_command(Command::TcpGraphs(false));
    h.state_mut().push_command(Command::LabAction(wirelab::lab::Action::Graph { graph: "window".into() }));
    settle(&mut h);
    let v = &h.state().state.panels.tcpgraph;
    assert!(v.shown && v.kind == TcpGraphKind::Window);
}
