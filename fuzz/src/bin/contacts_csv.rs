//! AFL target: `contacts_csv` (see `frontline_fuzz::Target::ContactsCsv`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        frontline_fuzz::run(frontline_fuzz::Target::ContactsCsv, data);
    });
}
