//! A panel's result computed on a thread from the open capture, for a key
//! (which capture, which connection, which level…): the last one built and
//! the one on its way. The ladder and the TCP graphs use it.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::file::Capture;
use crate::session::Session;

pub struct Keyed<K, T> {
    /// The last result, with the key it was built for.
    pub built: Option<(K, T)>,
    /// The result being built, and its key.
    pub job: Option<(K, Receiver<T>)>,
}

impl<K, T> Default for Keyed<K, T> {
    fn default() -> Self {
        Keyed { built: None, job: None }
    }
}

impl<K: Clone + PartialEq + Send + 'static, T: Send + 'static> Keyed<K, T> {
    /// The result for `key`, if it is here.
    pub fn get(&self, key: &K) -> Option<&T> {
        self.built.as_ref().filter(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// Starts `make` for `key` on a thread named `name`, over the capture's
    /// session index, unless that result is here or on its way.
    pub fn want(
        &mut self,
        cap: Option<Arc<Capture>>,
        name: &str,
        key: K,
        make: impl FnOnce(&Session, &K) -> T + Send + 'static,
    ) {
        let coming = self.job.as_ref().is_some_and(|(k, _)| *k == key);
        let (Some(cap), None, false) = (cap, self.get(&key), coming) else { return };
        let (tx, rx) = std::sync::mpsc::channel();
        let k = key.clone();
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            let s = Session::index(cap, crate::session::CHECKPOINT_EVERY);
            let _ = tx.send(make(&s, &k));
        });
        if spawned.is_ok() {
            self.job = Some((key, rx));
        }
    }

    /// Takes the result if it has come, waiting at most `wait`.
    pub fn poll(&mut self, wait: Duration) {
        let Some((key, rx)) = &self.job else { return };
        match rx.recv_timeout(wait) {
            Ok(t) => {
                self.built = Some((key.clone(), t));
                self.job = None;
            }
            // The thread died: nothing will come.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => self.job = None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }

    pub fn busy(&self) -> bool {
        self.job.is_some()
    }
}
