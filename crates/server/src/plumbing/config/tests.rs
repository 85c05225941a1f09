//! Loading and checking configuration: layers, errors naming their key, secrets kept out of
//! logs.

use super::*;

/// Every scalar key of `Config` can be set from the environment: `CONFIG_ENV` is the
/// filter applied to `FRONTLINE_*`, so a key missing there would silently ignore its
/// variable. Lists and maps are set in the file only.
#[test]
fn every_scalar_key_has_its_environment_name() {
    fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.to_ascii_uppercase()
                    } else {
                        format!("{prefix}__{}", k.to_ascii_uppercase())
                    };
                    leaves(&key, v, out);
                }
            }
            serde_json::Value::Array(_) => {}
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut keys = Vec::new();
    leaves(
        "",
        &serde_json::to_value(Config::default()).unwrap(),
        &mut keys,
    );
    let file_only = ["ALERTMANAGER__SEVERITIES"];
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !file_only.iter().any(|f| k.starts_with(f)))
        .filter(|k| !CONFIG_ENV.contains(&k.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in CONFIG_ENV: {missing:?}");
}

/// A value for each environment name that differs from the default and passes the
/// checks: derived from the default's type where it can be, named where it cannot.
fn env_value(name: &str, default: &serde_json::Value) -> String {
    match name {
        "LISTEN" => "127.0.0.1:9999".into(),
        "DATABASE" => "sqlite://elsewhere.db".into(),
        "METRICS_TOKEN" => "a-metrics-token-of-length".into(),
        "PUBLIC_URL" => "https://status.example.com".into(),
        "TRUSTED_PROXIES" => "[\"10.0.0.7\"]".into(),
        "CORRELATION__MODE" => "off".into(),
        "SMTP__TLS" => "tls".into(),
        "SMTP__FROM" => "status@example.com".into(),
        "SECRETS__PSEUDONYM_KEY" => "a-pseudonym-key-from-the-secret-store".into(),
        "SECRETS__PSEUDONYM_KEY_FILE" => "pseudonym.key".into(),
        "ALERTMANAGER__DEFAULT_SEVERITY" => "critical".into(),
        "LIMITS__TOKEN_BURST" | "LIMITS__CLIENT_BURST" => "100000".into(),
        _ => match default {
            serde_json::Value::Bool(b) => (!b).to_string(),
            serde_json::Value::Number(n) if n.is_f64() => {
                (n.as_f64().unwrap_or(0.0) / 2.0 + 0.125).to_string()
            }
            serde_json::Value::Number(n) => (n.as_u64().unwrap_or(0) + 1).to_string(),
            _ => format!("value-of-{}", name.to_ascii_lowercase()),
        },
    }
}

fn at<'v>(v: &'v serde_json::Value, name: &str) -> &'v serde_json::Value {
    name.split("__")
        .fold(v, |v, k| &v[k.to_ascii_lowercase().as_str()])
}

/// Every key reachable from the file is reachable from `FRONTLINE_…__…`: each name of
/// `CONFIG_ENV` set alone changes its key, and a value of the wrong type stops loading
/// naming the key.
#[test]
// figment's Jail takes closures returning its own (large) error type.
#[allow(clippy::result_large_err)]
fn every_environment_name_takes_effect_and_bad_values_stop_startup() {
    let defaults = serde_json::to_value(Config::default()).unwrap();
    for name in CONFIG_ENV {
        let default = at(&defaults, name).clone();
        let value = env_value(name, &default);
        figment::Jail::expect_with(|jail| {
            jail.create_file("pseudonym.key", "a-pseudonym-key-kept-in-a-file-0123")?;
            jail.set_env(format!("FRONTLINE_{name}"), &value);
            let dotted = name.to_ascii_lowercase().replace("__", ".");
            let config = match Config::load(None, Overrides::default()) {
                Ok(config) => config,
                // Read, and refused by a check that names it (a switch that needs
                // another key): it took effect.
                Err(ConfigError::Invalid { key, .. }) if key == dotted => return Ok(()),
                Err(e) => return Err(format!("FRONTLINE_{name}={value}: {e}").into()),
            };
            let loaded = serde_json::to_value(&config).unwrap();
            let got = at(&loaded, name);
            if name.starts_with("SECRETS__PSEUDONYM_KEY") {
                let key = config.pseudonym_key().map_err(|e| e.to_string())?;
                assert!(key.is_some_and(|k| k.len() > 30), "FRONTLINE_{name}");
            } else {
                assert_ne!(got, &default, "FRONTLINE_{name}={value} had no effect");
            }
            Ok(())
        });
        let typed = matches!(
            default,
            serde_json::Value::Bool(_) | serde_json::Value::Number(_)
        );
        if typed {
            figment::Jail::expect_with(|jail| {
                jail.set_env(format!("FRONTLINE_{name}"), "bogus");
                let err = Config::load(None, Overrides::default())
                    .expect_err(&format!("FRONTLINE_{name}=bogus was accepted"))
                    .to_string();
                let key = name.to_ascii_lowercase().replace("__", ".");
                assert!(
                    err.to_ascii_lowercase().contains(&key),
                    "FRONTLINE_{name}=bogus: {err}"
                );
                Ok(())
            });
        }
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = Config::default();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.database, "sqlite://frontline.db");
    assert!(c.check().is_ok());
}

#[test]
fn bad_values_name_their_key() {
    let c = Config {
        database: "mysql://x".into(),
        ..Config::default()
    };
    match c.check() {
        Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, "database"),
        other => panic!("{other:?}"),
    }
    let mut c = Config::default();
    c.secrets.pseudonym_key = Some(Secret::new("changeme"));
    match c.check() {
        Err(ConfigError::Invalid { key, reason }) => {
            assert_eq!(key, "secrets.pseudonym_key");
            assert!(reason.contains("placeholder"));
        }
        other => panic!("{other:?}"),
    }
    c.secrets.pseudonym_key = Some(Secret::new("0123456789abcdef0123"));
    assert_eq!(c.pseudonym_key().unwrap().unwrap().len(), 20);
}

#[test]
fn secrets_never_show_in_debug() {
    let mut c = Config::default();
    c.secrets.pseudonym_key = Some(Secret::new("very-secret-value-123"));
    assert!(!format!("{c:?}").contains("very-secret"));
}

#[test]
fn unknown_names_are_reported_and_test_names_exempt() {
    let names = [
        "FRONTLINE_DATABSE",
        "FRONTLINE_LISTEN",
        "FRONTLINE_TEST_POSTGRES_URL",
        "PATH",
    ]
    .map(String::from);
    assert_eq!(
        unknown_env_names(names),
        vec!["FRONTLINE_DATABSE".to_owned()]
    );
}
