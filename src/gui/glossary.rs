//! The glossary panel: the course's words, each tied to the bytes of the
//! selected packet. Choosing a term highlights the fields that embody it
//! (socket → `ip.src` and `tcp.srcport`), works out its derivation from the
//! bytes on screen (the accept key, unmasking, a checksum, the next sequence
//! number), and keeps a list of the words already seen in the student's packets.

use crate::glossary::{Glossary, Term, derive};
use crate::model::OSI_NAMES;

use super::{Command, State};

/// The glossary panel's own state.
#[derive(Default)]
pub struct GlossaryView {
    pub search: String,
    /// Index into the bundled glossary of the chosen term.
    pub term: Option<usize>,
}

impl GlossaryView {
    pub fn chosen(&self) -> Option<Term> {
        self.term.and_then(|i| Glossary::current().terms.get(i).cloned())
    }
}

/// Where a term lives, in words: "L4 Transport", or "no single layer".
pub fn layers_text(t: &Term) -> String {
    if t.osi.is_empty() {
        return "a concept, on no single layer".into();
    }
    t.osi
        .iter()
        .map(|&l| format!("L{l} {}", OSI_NAMES.get(usize::from(l).wrapping_sub(1)).copied().unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The terms a field embodies, for hover texts ("" when none).
pub fn terms_text(field: &str) -> String {
    let g = Glossary::current();
    let names: Vec<&str> = g.terms_of_field(field).map(|t| t.term.as_str()).collect();
    if names.is_empty() { String::new() } else { format!("Glossary: {}", names.join(", ")) }
}

pub fn glossary_ui(
    ui: &mut egui::Ui,
    state: &mut State,
    seen: &std::collections::BTreeSet<String>,
    cmds: &mut Vec<Command>,
) {
    let g = Glossary::current();
    ui.horizontal(|ui| {
        let l = ui.label("Find a word:");
        ui.add(egui::TextEdit::singleline(&mut state.panels.glossary.search).desired_width(160.0)).labelled_by(l.id);
    });
    ui.weak(format!(
        "Seen in your packets: {} of {} words",
        g.terms.iter().filter(|t| seen.contains(&t.term)).count(),
        g.terms.len()
    ));
    if let Some(t) = state.panels.glossary.chosen() {
        ui.separator();
        term_ui(ui, state, &t, cmds);
    }
    ui.separator();
    let search = state.panels.glossary.search.trim().to_lowercase();
    for (i, t) in g.terms.iter().enumerate() {
        let hit = search.is_empty()
            || t.term.to_lowercase().contains(&search)
            || t.aliases.iter().any(|a| a.to_lowercase().contains(&search));
        if !hit {
            continue;
        }
        ui.horizontal(|ui| {
            let chosen = state.panels.glossary.term == Some(i);
            if ui.selectable_label(chosen, &t.term).clicked() {
                cmds.push(Command::ShowTerm(t.term.clone()));
            }
            if seen.contains(&t.term) {
                ui.weak("✔ seen");
            } else {
                ui.weak("not yet seen");
            }
        });
    }
}

fn term_ui(ui: &mut egui::Ui, state: &State, t: &Term, cmds: &mut Vec<Command>) {
    ui.heading(&t.term);
    ui.weak(format!("Layer: {}{}", layers_text(t), t.spec.as_ref().map(|s| format!(" · {s}")).unwrap_or_default()));
    ui.label(&t.definition);
    if !t.fields.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label("In the selected packet:");
            let detail = state.view.detail.as_ref();
            for name in &t.fields {
                let at = detail.and_then(|(d, b)| d.find(b, name)).map(|f| f.index);
                match at {
                    Some(i) => {
                        if ui.link(name).on_hover_text("Select this field and its bytes").clicked() {
                            cmds.push(Command::SelectField(Some(i)));
                            if let Some(f) = detail.and_then(|(d, _)| d.fields.get(i)) {
                                cmds.push(Command::SetSource(f.span.source));
                            }
                        }
                    }
                    None => {
                        ui.weak(format!("{name} (not in this packet)"));
                    }
                }
            }
        });
    }
    if let Some(how) = t.derive {
        ui.strong("Worked out from the selected packet:");
        match state.view.detail.as_ref().map(|(d, b)| derive(how, d, b)) {
            Some(Ok(lines)) => {
                for l in lines {
                    ui.monospace(l);
                }
            }
            Some(Err(what)) => {
                ui.weak(format!("To see it, {what}."));
            }
            None => {
                ui.weak("Select a packet.");
            }
        }
    }
    if !t.see.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.weak("See also:");
            for s in &t.see {
                if ui.small_button(s).clicked() {
                    cmds.push(Command::ShowTerm(s.clone()));
                }
            }
        });
    }
}
