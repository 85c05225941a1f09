//! AFL target: `contacts_ndjson` (see `frontline_fuzz::Target::ContactsNdjson`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        frontline_fuzz::run(frontline_fuzz::Target::ContactsNdjson, data);
    });
}
