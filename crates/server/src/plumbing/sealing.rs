//! The installation's sealing key for helpdesk credentials: where it lives, loaded at start
//! when it exists (a bad file stops startup naming it), created on first need otherwise.

use crate::plumbing::config::Config;
use frontline_helpdesk::seal::{SealError, Sealer};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The sealing key, loaded or created once.
#[derive(Debug)]
pub struct Sealing {
    /// Where the key lives; `None` for an in-memory database, whose credentials vanish with
    /// it, so a key in memory serves.
    path: Option<PathBuf>,
    sealer: OnceLock<Sealer>,
}

impl Sealing {
    /// The key for `config`: loaded now if its file exists.
    ///
    /// # Errors
    /// When the file exists and is not a key.
    pub fn new(config: &Config) -> Result<Self, SealError> {
        let path = key_path(config);
        let sealer = OnceLock::new();
        if let Some(path) = path.as_deref().filter(|p| p.exists()) {
            let _ = sealer.set(Sealer::load_or_create(path)?);
        }
        Ok(Self { path, sealer })
    }

    /// The sealer, creating the key file on first need.
    ///
    /// # Errors
    /// When the key file cannot be read or created.
    pub fn sealer(&self) -> Result<&Sealer, SealError> {
        if let Some(s) = self.sealer.get() {
            return Ok(s);
        }
        let made = match &self.path {
            Some(path) => Sealer::load_or_create(path)?,
            None => {
                let mut key = [0u8; frontline_helpdesk::seal::KEY_LEN];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
                Sealer::new(&key)
            }
        };
        // Two first uses at once: one key wins, and both read it back from the cell. A file
        // written by the loser cannot exist: creation is exclusive, so the loser read it.
        let _ = self.sealer.set(made);
        self.sealer.get().ok_or(SealError::Random)
    }
}

fn key_path(config: &Config) -> Option<PathBuf> {
    if let Some(path) = &config.secrets.sealing_key_file {
        return Some(path.clone());
    }
    let db = &config.database;
    if let Some(rest) = db.strip_prefix("sqlite:") {
        let file = rest.trim_start_matches("//");
        let file = file.split('?').next().unwrap_or_default();
        if file.is_empty() || file.contains(":memory:") {
            return None;
        }
        return Some(PathBuf::from(format!("{file}.sealing-key")));
    }
    Some(PathBuf::from("frontline.sealing-key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_lives_beside_a_sqlite_file_or_where_configured() {
        let mut config = Config {
            database: "sqlite:///var/lib/frontline/frontline.db?mode=rwc".into(),
            ..Config::default()
        };
        assert_eq!(
            key_path(&config),
            Some(PathBuf::from("/var/lib/frontline/frontline.db.sealing-key"))
        );
        config.database = "sqlite::memory:".into();
        assert_eq!(key_path(&config), None);
        config.secrets.sealing_key_file = Some("/etc/frontline/key".into());
        assert_eq!(key_path(&config), Some(PathBuf::from("/etc/frontline/key")));
    }
}
