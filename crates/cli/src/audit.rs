//! `frontline audit verify`: walks the audit log from its first record and checks the hash
//! chain, naming the first record that is missing, altered or no longer linked, and saying how
//! many personal fields were erased (those are checked by their commitments only).

use frontline_core::audit::ChainCheck;
use frontline_server::plumbing::config::Config;
use std::process::ExitCode;

/// Records read per page.
const PAGE: u32 = 1000;

/// Checks the chain; exit 0 when intact, 1 at the first break (printed on stderr).
///
/// # Errors
/// When the database cannot be opened or read.
pub(crate) async fn verify(config: &Config) -> anyhow::Result<ExitCode> {
    let store = frontline_server::open_store(&config.database).await?;
    let mut check = ChainCheck::default();
    let mut after = 0;
    loop {
        let records = store.audit_records(after, PAGE).await?;
        let Some(last) = records.last().map(|r| r.seq) else {
            break;
        };
        for record in &records {
            if let Err(broken) = check.check(record) {
                eprintln!(
                    "audit log broken: {broken} ({} records before it are intact)",
                    check.checked()
                );
                return Ok(ExitCode::from(1));
            }
        }
        after = last;
    }
    let erased = match check.erased() {
        0 => String::new(),
        1 => " (1 personal field erased on request: attested by its commitment only)".into(),
        n => format!(" ({n} personal fields erased on request: attested by commitment only)"),
    };
    println!(
        "audit log intact: {} records, head {}{erased}",
        check.checked(),
        check.head()
    );
    Ok(ExitCode::SUCCESS)
}
