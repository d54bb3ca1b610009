//! The GUI, driven through egui_kittest: the real app state, real clicks and
//! typing, and image snapshots rendered headless (wgpu on the CPU).

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use wirelab::gui::{App, Settings};

use crate::support;

fn harness(path: Option<std::path::PathBuf>) -> Harness<'static, App> {
    let mut app = App::new(path, Settings::default());
    app.wait_idle();
    let mut h = Harness::builder().with_size([1280.0, 860.0]).build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    h.run();
    h
}

/// Types into the filter box (the second text input, after "Open").
fn type_filter(h: &mut Harness<'static, App>, text: &str) {
    let filter = h.query_all_by_role(egui::accesskit::Role::TextInput).nth(1).expect("the filter box");
    filter.focus();
    filter.type_text(text);
    settle(h);
}

/// Runs frames until background work is done.
fn settle(h: &mut Harness<'static, App>) {
    h.run();
    h.state_mut().wait_idle();
    h.run();
}

#[test]
fn opens_on_the_built_in_chat_capture_with_the_first_frame_selected() {
    let h = harness(None);
    let loaded = h.state().state.loaded.as_ref().expect("the built-in capture is loaded");
    assert_eq!(loaded.rows.len(), 405);
    h.get_by_label("405 of 405 frames");
    assert_eq!(h.state().state.selected, Some(0));
    // The layer view shows all seven OSI layers, empty ones with the reason.
    h.get_by_label("L7 Application");
    h.get_by_label("L1 Physical");
}

#[test]
fn clicking_a_socketio_row_shows_its_layers_and_a_field_click_highlights_its_bytes() {
    let mut h = harness(None);
    type_filter(&mut h, "socketio.event");
    h.get_all_by_label_contains("Socket.IO EVENT \"chat message\"").next().unwrap().click();
    h.run();
    let sel = h.state().state.selected.expect("a row is selected");
    let row = &h.state().state.loaded.as_ref().unwrap().rows[sel];
    assert_eq!(row.protocol, "Socket.IO");
    // Each header on its layer: WebSocket on the session layer, Engine.IO on
    // presentation, Socket.IO on application.
    h.get_by_label_contains("Socket.IO (");
    h.get_by_label_contains("WebSocket (");
    h.get_by_label_contains("Engine.IO (");
    // Click the event name: its bytes are selected, in the unmasked data.
    h.get_by_label_contains("Event: chat message").click();
    h.run();
    let st = &h.state().state;
    let (d, _, _) = st.detail.as_ref().unwrap();
    let f = &d.fields[st.selected_field.expect("a field is selected")];
    assert_eq!(f.def.name, "socketio.event");
    assert_eq!(st.source, f.span.source, "the bytes view shows the field's data source");
    let source = &d.sources[usize::from(f.span.source) - 1];
    assert_eq!(source.name, "Unmasked data");
    assert_eq!(&source.bytes[f.span.range()], b"chat message");
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
