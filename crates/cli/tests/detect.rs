//! `frontline detect`: folders mirrored, one scored row per input row, bad rows reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn a_folder_is_scored_into_a_mirrored_tree() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("group/sub")).unwrap();
    let mut series = String::from("timestamp,value\n");
    for i in 0..2000 {
        let v = if i == 1500 {
            500.0
        } else {
            10.0 + (i % 7) as f64
        };
        series.push_str(&format!(
            "2014-04-01 {:02}:{:02}:00,{v}\n",
            (i / 60) % 24,
            i % 60
        ));
    }
    std::fs::write(input.join("group/sub/a.csv"), &series).unwrap();
    std::fs::write(
        input.join("b.csv"),
        "timestamp,value\n2026-11-25T13:00:00Z,1\nyesterday,2\n2026-11-25T13:02:00Z,oops\n2026-11-25T13:03:00Z,3\n2026-11-25T13:03:00Z,4\n",
    )
    .unwrap();
    std::fs::write(input.join("notes.txt"), "not a series").unwrap();
    let output = dir.path().join("out");

    let out = Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args([
            "detect",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("b.csv:3: skipped"), "{stderr}");
    assert!(stderr.contains("b.csv:4: skipped"), "{stderr}");
    // A repeated time is scored (NAB's own files hold some) and reported with its line.
    assert!(stderr.contains("b.csv:6: 1 row is"), "{stderr}");
    assert!(!output.join("notes.txt").exists());

    let scored = std::fs::read_to_string(output.join("group/sub/a.csv")).unwrap();
    let mut lines = scored.lines();
    assert_eq!(lines.next(), Some("timestamp,value,anomaly_score"));
    let rows: Vec<(String, f64)> = lines
        .map(|l| {
            let parts: Vec<&str> = l.split(',').collect();
            (parts[0].to_owned(), parts[2].parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 2000);
    assert_eq!(
        rows[0].0, "2014-04-01 00:00:00",
        "timestamps are kept as given"
    );
    assert!(rows.iter().all(|(_, s)| (0.0..=1.0).contains(s)));
    let spike = rows[1500].1;
    let others = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1500)
        .map(|(_, r)| r.1)
        .fold(0.0, f64::max);
    assert!(
        spike > others,
        "the spike ({spike}) outranks every other row ({others})"
    );

    let b = std::fs::read_to_string(output.join("b.csv")).unwrap();
    assert_eq!(b.lines().count(), 4, "header and the three good rows: {b}");
}

#[test]
fn one_file_in_one_file_out_and_a_missing_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("s.csv");
    std::fs::write(&input, "timestamp,value\n2014-04-01 00:00:00,1\n").unwrap();
    let output = dir.path().join("deep/scored.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args([
            "detect",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "timestamp,value,anomaly_score\n2014-04-01 00:00:00,1,0.000000\n"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_frontline"))
        .args([
            "detect",
            "--input",
            "/nonexistent",
            "--output",
            output.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
