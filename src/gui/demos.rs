//! The demo controls: the demo servers, the scenarios, and the native file
//! dialog. Everything that takes time (a scenario, stopping servers, a
//! dialog the student leaves open) runs on its own thread; the window polls.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

use crate::serve::{Kind, ServeConfig, Servers, scenario};

use super::Command;

/// What a finished scenario hands back: its report and the capture, if it
/// could record one (or why not).
pub struct ScenarioDone {
    pub name: String,
    pub lines: Vec<String>,
    pub recording: Result<PathBuf, String>,
}

/// The demo servers the window started, one `Servers` per kind so each can
/// be stopped on its own.
pub struct Demos {
    servers: [Option<Servers>; 4],
    /// Start the chat with the missed-message log (`--recovery`).
    pub recovery: bool,
    /// Start echo and chat over TLS (`--tls`).
    pub tls: bool,
    /// Where their certificate and key log are (and the TLS scenarios').
    pub tls_dir: PathBuf,
    /// The scenario running now, and where its result will arrive.
    running: Option<(String, Receiver<Result<ScenarioDone, String>>)>,
    /// The last scenario's report, shown in its own window.
    pub report: Option<ScenarioDone>,
    pub show_report: bool,
    dialog: Option<Receiver<Option<PathBuf>>>,
}

impl Default for Demos {
    fn default() -> Self {
        Demos {
            servers: Default::default(),
            recovery: false,
            tls: false,
            tls_dir: crate::serve::tls::default_dir(),
            running: None,
            report: None,
            show_report: false,
            dialog: None,
        }
    }
}

impl Demos {
    /// Where a server listens and how to reach it, if the window started it.
    pub fn listening(&self, kind: Kind) -> Option<&crate::serve::Listening> {
        self.servers[kind as usize].as_ref().and_then(|s| s.listening.first())
    }

    /// Starts or stops one demo server; the lesson port when free, else any.
    pub fn set_server(&mut self, kind: Kind, on: bool) -> Result<(), String> {
        let slot = &mut self.servers[kind as usize];
        match (on, slot.take()) {
            (true, Some(s)) => *slot = Some(s),
            (true, None) => {
                let mut cfg = ServeConfig::default();
                cfg.chat.recovery = self.recovery;
                if self.tls {
                    cfg.tls = Some(self.tls_dir.clone());
                }
                let s = Servers::start(&cfg, &[kind]).or_else(|_| {
                    cfg.ports[kind as usize] = 0;
                    Servers::start(&cfg, &[kind])
                });
                *slot = Some(s.map_err(|e| format!("cannot start the {} server: {e:#}", kind.name()))?);
            }
            // Stopping waits for open connections to close; not on the UI thread.
            (false, Some(s)) => {
                std::thread::spawn(move || s.stop());
            }
            (false, None) => {}
        }
        Ok(())
    }

    pub fn running(&self) -> Option<&str> {
        self.running.as_ref().map(|(n, _)| n.as_str())
    }

    /// Runs a scenario on a thread, recording it to a temporary pcap when
    /// this process may capture; with a token (a lab with the student's
    /// course key), the traffic ends with it.
    pub fn run_scenario(&mut self, name: &str, token: Option<String>) {
        if self.running.is_some() {
            return;
        }
        let (tx, rx) = channel();
        let n = name.to_string();
        let dir = self.tls_dir.clone();
        let spawned = std::thread::Builder::new().name("wirelab-scenario".into()).spawn(move || {
            let _ = tx.send(run_scenario(&n, token.as_deref(), &dir));
        });
        if spawned.is_ok() {
            self.running = Some((name.to_string(), rx));
        }
    }

    /// Opens the system's file dialog on a thread (xdg-desktop-portal, or
    /// zenity where there is no portal).
    pub fn open_dialog(&mut self) -> Result<(), String> {
        if self.dialog.is_some() {
            return Ok(());
        }
        let portal = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
        let zenity =
            std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("zenity").is_file()));
        if !portal && !zenity {
            return Err("no file dialog is available here (it needs xdg-desktop-portal or zenity: \
                        `apt install zenity`); type the file's path in the box, or drop the file on the window"
                .into());
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let picked = rfd::FileDialog::new()
                .set_title("Open a capture, or a TLS key log for the capture open")
                .add_filter("Captures (pcap, pcapng)", &["pcap", "pcapng", "cap"])
                .add_filter("TLS key logs (SSLKEYLOGFILE)", &["keys", "log", "txt"])
                .add_filter("All files", &["*"])
                .pick_file();
            let _ = tx.send(picked);
        });
        self.dialog = Some(rx);
        Ok(())
    }

    /// Collects finished work: commands for the app, and a message if
    /// something went wrong.
    pub fn poll(&mut self, cmds: &mut Vec<Command>) -> Option<String> {
        let mut error = None;
        if let Some(rx) = &self.dialog {
            match rx.try_recv() {
                Ok(Some(path)) => {
                    cmds.push(Command::Open(path));
                    self.dialog = None;
                }
                Ok(None) | Err(TryRecvError::Disconnected) => self.dialog = None,
                Err(TryRecvError::Empty) => {}
            }
        }
        if let Some((name, rx)) = &self.running {
            match rx.try_recv() {
                Ok(Ok(done)) => {
                    if let Ok(path) = &done.recording {
                        cmds.push(Command::Open(path.clone()));
                    }
                    self.report = Some(done);
                    self.show_report = true;
                    self.running = None;
                }
                Ok(Err(e)) => {
                    error = Some(e);
                    self.running = None;
                }
                Err(TryRecvError::Disconnected) => {
                    error = Some(format!("the scenario {name} stopped unexpectedly"));
                    self.running = None;
                }
                Err(TryRecvError::Empty) => {}
            }
        }
        error
    }

    /// True while a thread may still post something.
    pub fn busy(&self) -> bool {
        self.running.is_some() || self.dialog.is_some()
    }

    /// Blocks until the running scenario has finished (tests).
    pub fn wait_scenario(&mut self, cmds: &mut Vec<Command>) -> Option<String> {
        while self.running.is_some() {
            if let Some(e) = self.poll(cmds) {
                return Some(e);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

fn run_scenario(name: &str, token: Option<&str>, tls_dir: &std::path::Path) -> Result<ScenarioDone, String> {
    // A new file each run: the window maps the capture it shows, so an
    // earlier recording must never be rewritten under it.
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A TLS scenario's recording carries its keys, which takes pcapng.
    let ext = if name.ends_with("-tls") || name == "all" { "pcapng" } else { "pcap" };
    let path = std::env::temp_dir().join(format!("wirelab-{name}-{}-{run}.{ext}", std::process::id()));
    // The recording is the student's alone (the shared temporary folder is
    // readable by all): made here, empty and private, then written into.
    crate::file::new_private_file(&path).map_err(|e| format!("cannot create the recording {}: {e}", path.display()))?;
    match scenario::run_in(name, Some(path.clone()), token, tls_dir, None) {
        Ok(o) => Ok(ScenarioDone { name: name.into(), lines: o.lines, recording: Ok(path) }),
        // No capture rights: the scenario still runs, unrecorded, and says why.
        Err(e) if matches!(e.downcast_ref(), Some(crate::capture::CaptureError::Permission { .. })) => {
            // The empty recording made above is nobody's: it goes.
            let _ = std::fs::remove_file(&path);
            let why = format!("{:#}", e.root_cause());
            scenario::run_in(name, None, token, tls_dir, None)
                .map(|o| ScenarioDone { name: name.into(), lines: o.lines, recording: Err(why) })
                .map_err(|e| format!("{e:#}"))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(format!("{e:#}"))
        }
    }
}

/// The lab row of the toolbar: servers and scenarios.
pub fn demos_ui(ui: &mut egui::Ui, lab: &Demos, cmds: &mut Vec<Command>) {
    // Stays open while servers are ticked on and off.
    let keep_open =
        egui::containers::menu::MenuConfig::new().close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
    // Which servers run is in the button itself (a label beside it would
    // push the capture buttons away from under the pointer).
    let on: Vec<&str> = Kind::ALL.iter().filter(|k| lab.listening(**k).is_some()).map(|k| k.name()).collect();
    let title = if on.is_empty() { "Demo servers ○".to_string() } else { "Demo servers ●".to_string() };
    let (button, _) = egui::containers::menu::MenuButton::new(title).config(keep_open).ui(ui, |ui| {
        ui.label("Start the servers the labs use; their traffic is on loopback.");
        for kind in Kind::ALL {
            let l = lab.listening(kind);
            let mut on = l.is_some();
            let text = match l {
                Some(l) => format!("{} — {}", kind.name(), l.how),
                None => format!("{} (port {})", kind.name(), kind.default_port()),
            };
            if ui.checkbox(&mut on, text).changed() {
                cmds.push(Command::Server(kind, on));
            }
        }
        let mut recovery = lab.recovery;
        if ui
            .checkbox(&mut recovery, "chat: recover missed messages (--recovery)")
            .on_hover_text("Takes effect when the chat server starts")
            .changed()
        {
            cmds.push(Command::SetRecovery(recovery));
        }
        let mut tls = lab.tls;
        if ui
            .checkbox(&mut tls, "echo and chat over TLS (wss://, https://; --tls)")
            .on_hover_text(format!(
                "Takes effect when the server starts. A live capture decrypts their traffic with the key log they \
                 write to {}",
                crate::serve::tls::key_log_path(&lab.tls_dir).display()
            ))
            .changed()
        {
            cmds.push(Command::SetTls(tls));
        }
    });
    if !on.is_empty() {
        button.on_hover_text(format!("running: {}", on.join(", ")));
    }
    ui.add_enabled_ui(lab.running().is_none(), |ui| {
        ui.menu_button("Run scenario", |ui| {
            ui.label("Runs a lesson's servers and clients, records them, and opens the capture.");
            for (name, what) in scenario::SCENARIOS {
                if ui.button(name).on_hover_text(what).clicked() {
                    cmds.push(Command::RunScenario(name.to_string()));
                    ui.close();
                }
            }
        });
    });
    if let Some(name) = lab.running() {
        ui.spinner();
        ui.label(format!("running {name}…"));
    } else if lab.report.is_some() && ui.button("Scenario report").clicked() {
        cmds.push(Command::ShowReport(true));
    }
}

/// The last scenario's report, in a window of its own.
pub fn report_ui(ctx: &egui::Context, lab: &Demos, cmds: &mut Vec<Command>) {
    let Some(r) = &lab.report else { return };
    let mut open = lab.show_report;
    egui::Window::new(format!("Scenario {}", r.name)).open(&mut open).default_width(560.0).show(ctx, |ui| {
        match &r.recording {
            Ok(p) => ui.label(format!("Recorded to {} (now open in the window).", p.display())),
            Err(why) => {
                super::lab::capture_refused_ui(ui, why, "the scenario ran, but its traffic was not recorded");
                ui.label("")
            }
        };
        egui::ScrollArea::vertical().max_height(360.0).show(ui, |ui| {
            for line in &r.lines {
                ui.monospace(line);
            }
        });
    });
    if open != lab.show_report {
        cmds.push(Command::ShowReport(open));
    }
}
