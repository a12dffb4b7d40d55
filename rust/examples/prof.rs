//! Profiling driver: parse (and write the JSON of) every response of a JSONL file, timed.
//!
//! `cargo run --release --example prof -- ../shared/data/traces_normalised.jsonl`, or under
//! `valgrind --tool=callgrind` for instruction counts that do not depend on machine load.
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: prof FILE.jsonl");
    let data = std::fs::read_to_string(path).expect("readable UTF-8 file");
    let texts: Vec<String> = data
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["response"].as_str().map(str::to_string))
        .collect();
    let mb: f64 = texts.iter().map(|t| t.len()).sum::<usize>() as f64 / 1e6;
    let _ = dlcot::parse("warm up the lexicon", None);
    let skip_parse = std::env::var("PROF_SKIP_PARSE").is_ok();
    let t = Instant::now();
    for x in texts.iter().filter(|_| !skip_parse) {
        std::hint::black_box(dlcot::parse(x, None));
    }
    println!("parse: {:.1} MB/s", mb / t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut out = String::new();
    for x in texts.iter().filter(|_| !skip_parse) {
        out.clear();
        let tr = dlcot::parse(x, None);
        let ix = dlcot::CharIndex::new(x);
        tr.write_json(|b| ix.char_of(b), &mut out);
        std::hint::black_box(&out);
    }
    println!("parse + JSON: {:.1} MB/s", mb / t.elapsed().as_secs_f64());
    let refs: Vec<Option<String>> = data
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["response"].is_string())
        .map(|v| v["answer"].as_str().map(str::to_string))
        .collect();
    let m = dlcot::minhash::MinHasher::new(128, 5, 0, dlcot::minhash::Unit::Word).expect("valid");
    for _ in 0..if std::env::var("PROF_SKIP_MINHASH").is_ok() { 0 } else { 3 } {
        let t = Instant::now();
        std::hint::black_box(m.signatures(&texts, 1));
        println!("signatures (128 perms, word 5-grams), 1 thread: {:.1} MB/s", mb / t.elapsed().as_secs_f64());
    }
    if std::env::var("PROF_ONLY_MINHASH").is_ok() {
        return;
    }
    let only = std::env::var("PROF_POLICY").ok();
    for name in ["none", "first-correct", "dlcot", "dedup-only"] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let opts = dlcot::prune::Options {
            policy: dlcot::prune::policy(name).expect("a policy"),
            keep_unsolvable: true,
            threshold: 0.4,
            similarity: dlcot::cluster::Similarity::new(3, 8).expect("valid"),
        };
        let t = Instant::now();
        let mut cut = 0usize;
        for (x, r) in texts.iter().zip(&refs) {
            let mut tr = dlcot::parse(x, None);
            if let Some(r) = r {
                tr.label(x, r);
            }
            let p = dlcot::prune::prune(x, &tr, &opts);
            cut += x.len() - p.text.len().min(x.len());
        }
        println!("parse + label + prune {name}: {:.1} MB/s ({:.1}% of bytes cut)", mb / t.elapsed().as_secs_f64(), 100.0 * cut as f64 / (mb * 1e6));
    }
}
