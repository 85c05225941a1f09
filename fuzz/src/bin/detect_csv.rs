//! AFL target: `detect_csv` (see `frontline_fuzz::Target::DetectCsv`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        frontline_fuzz::run(frontline_fuzz::Target::DetectCsv, data);
    });
}
