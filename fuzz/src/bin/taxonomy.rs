//! AFL target: `taxonomy` (see `frontline_fuzz::Target::Taxonomy`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        frontline_fuzz::run(frontline_fuzz::Target::Taxonomy, data);
    });
}
